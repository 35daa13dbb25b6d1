package beepertest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/clock/clocktest"
	"github.com/knockbeep/knockbeep/sequence"
)

func TestCompareTones(t *testing.T) {
	// 440 Hz at 0–100 ms, 660 Hz at 150–250 ms, the song ends at 300 ms.
	want := []sequence.Tone{{Freq: 440, Length: 100 * ms, Delay: 50 * ms}, {Freq: 660, Length: 100 * ms, Delay: 50 * ms}}
	for _, tt := range []struct {
		name    string
		got     []sequence.Tone
		tol     Tolerance
		wantErr []string // each in the error; none: no error
	}{
		{name: "exactly", got: want},
		{
			name: "a leading silence and rests count as silence",
			got:  []sequence.Tone{{Freq: 440, Length: 100 * ms}, {Delay: 50 * ms}, {Freq: 660, Length: 100 * ms}, {Freq: 0, Length: 50 * ms}},
		},
		{
			name: "within the tolerance",
			got:  []sequence.Tone{{Freq: 441, Length: 101 * ms, Delay: 48 * ms}, {Freq: 659, Length: 100 * ms, Delay: 51 * ms}},
			tol:  Tolerance{Time: 1 * ms, Pitch: 0.005},
		},
		{
			name:    "a tone late, and so shorter",
			got:     []sequence.Tone{{Freq: 440, Length: 100 * ms, Delay: 70 * ms}, {Freq: 660, Length: 80 * ms, Delay: 50 * ms}},
			tol:     Tolerance{Time: 1 * ms},
			wantErr: []string{"tone 2 (660.00 Hz): starts 170ms, 20ms late (meant at 150ms, within 1ms)"},
		},
		{
			name:    "a tone ends early",
			got:     []sequence.Tone{{Freq: 440, Length: 90 * ms, Delay: 60 * ms}, {Freq: 660, Length: 100 * ms, Delay: 50 * ms}},
			wantErr: []string{"tone 1 (440.00 Hz): ends 90ms, 10ms early"},
		},
		{
			name:    "a wrong pitch",
			got:     []sequence.Tone{{Freq: 440, Length: 100 * ms, Delay: 50 * ms}, {Freq: 699.26, Length: 100 * ms, Delay: 50 * ms}},
			tol:     Tolerance{Pitch: 0.01},
			wantErr: []string{"tone 2: 699.26 Hz, meant 660.00 Hz"},
		},
		{
			name:    "a tone missing",
			got:     []sequence.Tone{{Freq: 440, Length: 100 * ms, Delay: 200 * ms}},
			wantErr: []string{"1 tones heard, 2 meant"},
		},
		{
			name:    "the song ends late",
			got:     []sequence.Tone{{Freq: 440, Length: 100 * ms, Delay: 50 * ms}, {Freq: 660, Length: 100 * ms, Delay: 80 * ms}},
			wantErr: []string{"the song ends 330ms, 30ms late"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CompareTones(want, tt.got, tt.tol)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Errorf("CompareTones: %v, want no error", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CompareTones = nil, want an error containing %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("CompareTones error:\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestRecorderCheck(t *testing.T) {
	song := []sequence.Tone{{Freq: 440, Length: 100 * ms, Delay: 50 * ms}, {Freq: 660, Length: 100 * ms}}
	clock := clocktest.NewFake(Epoch)
	rec := NewRecorder(clock)
	play := func(freq float64, until time.Duration) {
		t.Helper()
		if err := rec.Tone(freq); err != nil {
			t.Fatal(err)
		}
		clock.SleepUntil(t.Context(), Epoch.Add(until))
	}
	play(440, 100*ms)
	play(0, 150*ms)
	play(660, 250*ms)
	// Not silenced: the speaker still sounds.
	err := rec.Check(song, Epoch, clock.Now(), Tolerance{})
	if !errors.Is(err, ErrSounding) {
		t.Errorf("Check of a speaker left sounding = %v, want ErrSounding", err)
	}
	if err := rec.Tone(0); err != nil {
		t.Fatal(err)
	}
	if err := rec.Check(song, Epoch, clock.Now(), Tolerance{}); err != nil {
		t.Errorf("Check of the song played: %v", err)
	}
}
