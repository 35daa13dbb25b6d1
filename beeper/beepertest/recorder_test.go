package beepertest

import (
	"fmt"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/sequence"
)

const ms = time.Millisecond

func TestCallsToTones(t *testing.T) {
	at := func(d time.Duration, f float64) Call { return Call{At: Epoch.Add(d), Freq: f} }
	tests := []struct {
		name  string
		calls []Call
		end   time.Duration
		want  []sequence.Tone
	}{
		{name: "nothing", end: 0, want: nil},
		{name: "only silence", end: 300 * ms, want: []sequence.Tone{{Delay: 300 * ms}}},
		{
			name:  "tone then silence until the end",
			calls: []Call{at(0, 440), at(200*ms, 0)},
			end:   300 * ms,
			want:  []sequence.Tone{{Freq: 440, Length: 200 * ms, Delay: 100 * ms}},
		},
		{
			name:  "a late first tone keeps its leading silence, silence calls before it included",
			calls: []Call{at(50*ms, 0), at(100*ms, 440), at(200*ms, 0)},
			end:   200 * ms,
			want:  []sequence.Tone{{Delay: 100 * ms}, {Freq: 440, Length: 100 * ms}},
		},
		{
			name:  "tones back to back, same frequency too",
			calls: []Call{at(0, 440), at(100*ms, 440), at(150*ms, 880), at(250*ms, 0), at(260*ms, 0)},
			end:   400 * ms,
			want:  []sequence.Tone{{Freq: 440, Length: 100 * ms}, {Freq: 440, Length: 50 * ms}, {Freq: 880, Length: 100 * ms, Delay: 150 * ms}},
		},
		{
			name:  "a tone still sounding lasts until the end",
			calls: []Call{at(0, 440)},
			end:   70 * ms,
			want:  []sequence.Tone{{Freq: 440, Length: 70 * ms}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CallsToTones(tt.calls, Epoch, Epoch.Add(tt.end))
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("CallsToTones (-want +got):\n-%v\n+%v", tt.want, got)
			}
		})
	}
}

func TestHeard(t *testing.T) {
	tones := []sequence.Tone{
		{Freq: 440, Length: 0, Delay: 100 * ms}, // a silent tone at the start: leading silence
		{Freq: 0, Length: 50 * ms},              // a rest joins it
		{Freq: 392, Length: 350 * ms, Delay: 100 * ms},
		{Freq: 0, Length: 250 * ms, Delay: 10 * ms}, // a rest lengthens the delay before it
		{Freq: 440}, // nothing at all
		{Freq: 466, Length: 25 * ms},
	}
	want := []sequence.Tone{{Delay: 150 * ms}, {Freq: 392, Length: 350 * ms, Delay: 360 * ms}, {Freq: 466, Length: 25 * ms}}
	if got := Heard(tones); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Heard (-want +got):\n-%v\n+%v", want, got)
	}
}
