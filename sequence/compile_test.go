package sequence

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func tone(freq float64) PoolStep { return PoolStep{Kind: StepTone, Freq: freq, Length: 100 * ms} }
func silence() PoolStep          { return PoolStep{Kind: StepSilence, Length: 100 * ms} }

func TestCompile(t *testing.T) {
	tests := []struct {
		name  string
		steps []PoolStep
		want  []Tone
	}{
		{"empty pool", nil, []Tone{}},
		{"one tone", []PoolStep{tone(440)}, []Tone{{440, 100 * ms, 0}}},
		{"a run at one pitch is one tone", []PoolStep{tone(440), tone(440), tone(440)}, []Tone{{440, 300 * ms, 0}}},
		{"a pitch change starts a tone", []PoolStep{tone(440), tone(440), tone(494)}, []Tone{{440, 200 * ms, 0}, {494, 100 * ms, 0}}},
		{"silence is the delay after the tone before", []PoolStep{tone(440), silence(), silence()}, []Tone{{440, 100 * ms, 200 * ms}}},
		{"a silence keeps two runs at one pitch apart", []PoolStep{tone(440), tone(440), silence(), tone(440)},
			[]Tone{{440, 200 * ms, 100 * ms}, {440, 100 * ms, 0}}},
		{"leading silence is kept as a tone of length 0", []PoolStep{silence(), silence(), tone(440)},
			[]Tone{{0, 0, 200 * ms}, {440, 100 * ms, 0}}},
		{"only silence", []PoolStep{silence()}, []Tone{{0, 0, 100 * ms}}},
		{"steps of different lengths", []PoolStep{{StepTone, 392, 350 * ms}, {StepTone, 392, 50 * ms}, {StepSilence, 0, 25 * ms}},
			[]Tone{{392, 400 * ms, 25 * ms}}},
		{"the original protocol's rhythm", []PoolStep{tone(440), tone(440), tone(440), silence(), tone(440), silence(), tone(440), tone(440)},
			[]Tone{{440, 300 * ms, 100 * ms}, {440, 100 * ms, 100 * ms}, {440, 200 * ms, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compile(tt.steps)
			if d := diffTones(tt.want, got); d != "" {
				t.Errorf("Compile (-want +got):\n%s", d)
			}
			if cap(got) != len(got) {
				t.Errorf("Compile allocated room for %d tones and used %d: the count pass disagrees with the merge", cap(got), len(got))
			}
		})
	}
}

func TestFormatBeepArgs(t *testing.T) {
	tests := []struct {
		name  string
		tones []Tone
		want  string
	}{
		{"nothing", nil, ""},
		{"one tone", []Tone{{440, 300 * ms, 0}}, "-f 440 -l 300"},
		{"the original protocol's example", []Tone{{440, 300 * ms, 100 * ms}, {494, 200 * ms, 0}}, "-f 440 -l 300 -D 100 -n -f 494 -l 200"},
		{"note frequencies keep two decimals", []Tone{{NoteFreq(63), 250 * ms, 0}}, "-f 311.13 -l 250"},
		{"leading silence", []Tone{{0, 0, 300 * ms}, {440, 100 * ms, 0}}, "-l 0 -D 300 -n -f 440 -l 100"},
		{"milliseconds are rounded on the song's clock, so no drift builds up",
			[]Tone{{440, time.Second / 30, 0}, {494, time.Second / 30, 0}, {523, time.Second / 30, 0}},
			"-f 440 -l 33 -n -f 494 -l 34 -n -f 523 -l 33"},
		{"a tone longer than beep's 300000 ms is split", []Tone{{440, 700 * time.Second, 5 * ms}},
			"-f 440 -l 300000 -r 2 -d 0 -n -f 440 -l 100000 -D 5"},
		{"exactly twice the limit", []Tone{{440, 600 * time.Second, 0}}, "-f 440 -l 300000 -r 2 -d 0"},
		{"equal beats become repetitions", []Tone{{440, 100 * ms, 100 * ms}, {440, 100 * ms, 100 * ms}, {440, 100 * ms, 100 * ms}, {440, 200 * ms, 0}},
			"-f 440 -l 100 -r 3 -D 100 -n -f 440 -l 200"},
		{"the last of equal beats without its silence", []Tone{{440, 100 * ms, 100 * ms}, {440, 100 * ms, 0}}, "-f 440 -l 100 -r 2 -d 100"},
		{"no repetition after a tone without silence", []Tone{{440, 100 * ms, 0}, {440, 100 * ms, 100 * ms}}, "-f 440 -l 100 -n -f 440 -l 100 -D 100"},
		{"a silence longer than the limit is split", []Tone{{440, 100 * ms, 700 * time.Second}},
			"-f 440 -l 100 -D 300000 -n -l 0 -D 300000 -n -l 0 -D 100000"},
		{"a frequency beep would play as 440 is silence", []Tone{{440, 100 * ms, 0}, {0.2, 100 * ms, 50 * ms}, {440, 100 * ms, 0}},
			"-f 440 -l 100 -n -l 0 -D 150 -n -f 440 -l 100"},
		{"more decimals where two would make beep round the wrong way", []Tone{{NoteFreq(42), 100 * ms, 0}}, "-f 92.4986 -l 100"},
		{"frequencies above beep's range are capped", []Tone{{25000, 100 * ms, 0}}, "-f 20000 -l 100"},
		{"an empty tone is skipped", []Tone{{}, {440, 100 * ms, 0}}, "-f 440 -l 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FormatBeepArgs(tt.tones)
			if got != tt.want {
				t.Errorf("FormatBeepArgs (-want +got):\n  -%s\n  +%s", tt.want, got)
			}
			if got == "" {
				return
			}
			cmd, err := ParseBeepArgs(strings.Fields(got))
			if err != nil {
				t.Fatalf("beep would refuse %q: %v", got, err)
			}
			checkSameTimeline(t, tt.tones, cmd.Tones(), ms/2)
		})
	}
}

// TestFormatBeepArgsSongs checks that every shipped song survives the trip
// to beep's arguments and back, boundaries within half a millisecond.
func TestFormatBeepArgsSongs(t *testing.T) {
	for _, name := range []string{"imperial-march.beep", "fur-elise.rtttl", "twinkle-twinkle.rtttl", "ode-to-joy.mml", "minuet-in-g.mml"} {
		t.Run(name, func(t *testing.T) {
			song, err := ReadSongFile("../songs/" + name)
			if err != nil {
				t.Fatal(err)
			}
			cmd, err := ParseBeepArgs(strings.Fields(FormatBeepArgs(song.Tones)))
			if err != nil {
				t.Fatal(err)
			}
			checkSameTimeline(t, song.Tones, cmd.Tones(), ms/2)
		})
	}
}

func ExampleCompile() {
	// Three tone knocks, a silence knock, two tone knocks at a higher pitch.
	step := 100 * time.Millisecond
	steps := []PoolStep{
		{Kind: StepTone, Freq: 440, Length: step},
		{Kind: StepTone, Freq: 440, Length: step},
		{Kind: StepTone, Freq: 440, Length: step},
		{Kind: StepSilence, Length: step},
		{Kind: StepTone, Freq: 494, Length: step},
		{Kind: StepTone, Freq: 494, Length: step},
	}
	tones := Compile(steps)
	fmt.Println(tones)
	fmt.Println("beep", FormatBeepArgs(tones))
	// Output:
	// [{440 300ms 100ms} {494 200ms 0s}]
	// beep -f 440 -l 300 -D 100 -n -f 494 -l 200
}
