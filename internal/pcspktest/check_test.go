package pcspktest

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/sequence"
)

func TestChipFreq(t *testing.T) {
	tests := []struct {
		name string
		f    float64
		r    Rounding
		want float64 // 1193182 over the count the driver programs
	}{
		{"A4 through the console", 440, RoundConsole, 1193182.0 / 2711},
		{"A4 through evdev", 440, RoundEvdev, 1193182.0 / 2711},
		// ⌊1193182/659.26⌋ = 1809 → ⌊1193182/1809⌋ = 659 Hz → count 1810.
		{"KIOCSOUND rounds twice", 659.26, RoundConsole, 1193182.0 / 1810},
		{"evdev sends whole hertz", 659.26, RoundEvdev, 1193182.0 / 1810},
		{"evdev rounds half up", 311.5, RoundEvdev, 1193182.0 / 3824},
		{"the marker", 3000, RoundConsole, 1193182.0 / 397},
		{"silence", 0, RoundConsole, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ChipFreq(tt.f, tt.r); got != tt.want {
				t.Errorf("ChipFreq(%g) = %.4f, want %.4f", tt.f, got, tt.want)
			}
		})
	}
}

func TestAudible(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	plan := []sequence.Tone{
		{Length: ms(300)}, // a pool that starts with silence
		{Freq: 440, Length: ms(100), Delay: ms(50)},
		{Freq: 0, Length: ms(100), Delay: ms(20)},
		{Freq: 392, Length: 0, Delay: ms(30)},
		{Freq: 392, Length: ms(200)},
		{Freq: 392, Length: ms(100), Delay: ms(10)},
		{Freq: 392, Length: ms(100)},
	}
	want := []sequence.Tone{
		{Freq: 440, Length: ms(100), Delay: ms(200)},
		{Freq: 392, Length: ms(300), Delay: ms(10)},
		{Freq: 392, Length: ms(100)},
	}
	if got := Audible(plan); !reflect.DeepEqual(want, got) {
		t.Errorf("Audible (-want +got):\n-%v\n+%v", want, got)
	}
}

func TestCompare(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	plan := []sequence.Tone{
		{Freq: 440, Length: ms(200), Delay: ms(100)},
		{Freq: 659.26, Length: ms(150), Delay: ms(50)},
		{Freq: 200, Length: ms(300), Delay: ms(100)},
	}
	t0 := time.Unix(1000, 0)
	// played builds what a speaker did: each note's count, length and the
	// silence after it, measured at the chip's own frequency.
	played := func(notes ...[3]int) []Heard {
		var heard []Heard
		at := t0
		for _, n := range notes {
			s := Sound{Start: at, End: at.Add(ms(n[1])), Divisor: uint32(n[0])}
			heard = append(heard, Heard{Sound: s, Measured: s.Freq(), Gap: ms(n[2])})
			at = s.End.Add(ms(n[2]))
		}
		heard[len(heard)-1].Gap = 0
		return heard
	}
	tests := []struct {
		name  string
		heard []Heard
		want  []string // a part of each problem, in order
	}{
		{
			name:  "as planned",
			heard: played([3]int{2711, 200, 100}, [3]int{1810, 150, 50}, [3]int{5965, 300, 0}),
		},
		{
			name:  "within the limits",
			heard: played([3]int{2711, 204, 96}, [3]int{1812, 146, 54}, [3]int{5965, 305, 0}),
		},
		{
			name:  "a wrong note",
			heard: played([3]int{2711, 200, 100}, [3]int{1917, 150, 50}, [3]int{5965, 300, 0}),
			want:  []string{"note 2, trace 622.42 Hz for 659.22 Hz", "note 2, WAV 622.42 Hz for 659.22 Hz"},
		},
		{
			name:  "a long note and a short silence",
			heard: played([3]int{2711, 206, 100}, [3]int{1810, 150, 44}, [3]int{5965, 300, 0}),
			want:  []string{"note 1, length 206ms for 200ms: off by 6ms", "note 2, silence after 44ms for 50ms: off by 6ms"},
		},
		{
			name:  "a missing note",
			heard: played([3]int{2711, 200, 100}, [3]int{5965, 300, 0}),
			want: []string{
				"heard 2 notes, the plan has 3; the first that differs is note 2: 200.03 Hz for 659.22 Hz",
				"note 2, trace 200.03 Hz", "note 2, WAV 200.03 Hz", "note 2, length 300ms for 150ms",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := Compare(plan, tt.heard, RoundConsole, DefaultLimits())
			if len(rep.Problems) != len(tt.want) {
				t.Fatalf("problems (-want +got):\n-%q\n+%q", tt.want, rep.Problems)
			}
			for i, p := range rep.Problems {
				if !strings.Contains(p, tt.want[i]) {
					t.Errorf("problem %d (-want +got):\n-%s\n+%s", i+1, tt.want[i], p)
				}
			}
			if rep.OK() != (len(tt.want) == 0) {
				t.Errorf("OK() = %v with problems %q", rep.OK(), rep.Problems)
			}
		})
	}
}

func TestCompareCatchesAnUnmeasuredNote(t *testing.T) {
	plan := []sequence.Tone{{Freq: 440, Length: 100 * time.Millisecond}}
	t0 := time.Unix(1000, 0)
	heard := []Heard{{Sound: Sound{Start: t0, End: t0.Add(100 * time.Millisecond), Divisor: 2711}}}
	rep := Compare(plan, heard, RoundConsole, DefaultLimits())
	if rep.OK() || !strings.Contains(rep.Problems[0], "WAV 0.00 Hz") {
		t.Errorf("a note missing from the WAV passed: %v", rep)
	}
}

// TestWAVAgreement: a sound must last as long in the WAV as by the guest's
// clock, within wavSlack and a period of its tone; the first and last
// sounds, which qemu's audio stretches and cuts, are not compared.
func TestWAVAgreement(t *testing.T) {
	ms := func(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }
	const rate = 32000
	samples := func(d time.Duration) int { return int(d.Seconds() * rate) }
	// Three sounds of 100 ms at 1000 Hz (period 1 ms), 2000 Hz and 1000
	// Hz, 50 ms apart on the guest's clock; the WAV holds them joined.
	sounds := func(middle time.Duration) []Sound {
		t0 := GuestTime(time.Second)
		return []Sound{
			{Start: t0, End: t0.Add(ms(100)), Divisor: PITHz / 1000},
			{Start: t0.Add(ms(150)), End: t0.Add(ms(150) + middle), Divisor: PITHz / 2000},
			{Start: t0.Add(ms(300)), End: t0.Add(ms(400)), Divisor: PITHz / 1000},
		}
	}
	spans := func(first, middle time.Duration) []Span {
		a, b := samples(first), samples(first+middle)
		return []Span{{0, a}, {a, b}, {b, b + samples(ms(70))}}
	}
	tests := []struct {
		name          string
		guest, wav    time.Duration // the middle sound's length
		first         time.Duration // the first sound's length in the WAV
		want, wantErr string
	}{
		{name: "equal", guest: ms(100), wav: ms(100), first: ms(130), want: "sound 2, 2001.98 Hz: 100ms in the WAV, 100ms by the guest's clock"},
		{name: "within the slack and a period", guest: ms(100), wav: ms(102.375), first: ms(130)},
		{name: "past them", guest: ms(100), wav: ms(103), first: ms(130), wantErr: "off by 3ms, more than the 2.5ms"},
		{name: "short past them", guest: ms(100), wav: ms(95), first: ms(100), wantErr: "off by 5ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := Recording{Rate: rate}
			worst, at, err := wavAgreement(rec, sounds(tt.guest), spans(tt.first, tt.wav))
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("wavAgreement error %v, want one containing %q", err, tt.wantErr)
			}
			if worst != (tt.wav-tt.guest).Abs() || (tt.want != "" && at != tt.want) {
				t.Errorf("wavAgreement = %v at %q, want %v at %q", worst, at, (tt.wav - tt.guest).Abs(), tt.want)
			}
		})
	}
}
