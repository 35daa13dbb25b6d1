package sequence

import (
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func knocks(spec string) []Knock {
	var ks []Knock
	for _, word := range strings.Fields(spec) {
		switch {
		case word == "T":
			ks = append(ks, Knock{Kind: KnockTone})
		case word == "S":
			ks = append(ks, Knock{Kind: KnockSilence})
		case word == "play":
			ks = append(ks, Knock{Kind: KnockPlay})
		default:
			n, err := ParseNote(word)
			if err != nil {
				panic(err)
			}
			ks = append(ks, Knock{Kind: KnockPitch, Note: uint8(n)})
		}
	}
	return ks
}

func TestCompose(t *testing.T) {
	a4, g4 := NoteFreq(69), NoteFreq(67)
	tests := []struct {
		name         string
		tones        []Tone
		opts         ComposeOptions
		want         string // knocks: T tone, S silence, a note name for a pitch knock, play
		wantExpected []Tone
	}{
		{"the first tone gets a pitch knock even at the default frequency", []Tone{{440, 300 * ms, 100 * ms}}, ComposeOptions{},
			"A4 T T T S play", []Tone{{a4, 300 * ms, 100 * ms}}},
		{"a new pitch is knocked before its tone", []Tone{{392, 200 * ms, 0}, {440, 100 * ms, 0}}, ComposeOptions{},
			"G4 T T A4 T play", []Tone{{g4, 200 * ms, 0}, {a4, 100 * ms, 0}}},
		{"the pitch is the nearest note", []Tone{{311.1, 100 * ms, 0}}, ComposeOptions{},
			"D#4 T play", []Tone{{NoteFreq(63), 100 * ms, 0}}},
		{"no pitch knocks with NoPitch", []Tone{{392, 200 * ms, 0}, {311.1, 100 * ms, 100 * ms}}, ComposeOptions{NoPitch: true},
			"T S T S play", []Tone{{440, 100 * ms, 100 * ms}, {440, 100 * ms, 100 * ms}}},
		{"half-up rounding, every tone at least one step", []Tone{{440, 25 * ms, 49 * ms}, {440, 149 * ms, 50 * ms}, {440, 150 * ms, 150 * ms}}, ComposeOptions{},
			"A4 T T S T T S S play", []Tone{{a4, 200 * ms, 100 * ms}, {a4, 200 * ms, 200 * ms}}},
		{"repeated notes stay apart: the first gives its last step to silence", []Tone{{440, 200 * ms, 0}, {440, 200 * ms, 0}}, ComposeOptions{},
			"A4 T S T T play", []Tone{{a4, 100 * ms, 100 * ms}, {a4, 200 * ms, 0}}},
		{"one-step repeated notes have nothing to spare and merge", []Tone{{440, 100 * ms, 0}, {440, 100 * ms, 0}}, ComposeOptions{},
			"A4 T T play", []Tone{{a4, 200 * ms, 0}}},
		{"leading silence, then the first tone's pitch knock", []Tone{{0, 0, 300 * ms}, {440, 100 * ms, 0}}, ComposeOptions{},
			"S S S A4 T play", []Tone{{0, 0, 300 * ms}, {a4, 100 * ms, 0}}},
		{"a tone of frequency 0 is silence", []Tone{{440, 100 * ms, 0}, {0, 200 * ms, 100 * ms}, {440, 100 * ms, 0}}, ComposeOptions{},
			"A4 T S S S T play", []Tone{{a4, 100 * ms, 300 * ms}, {a4, 100 * ms, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := Compose(tt.tones, DefaultProtocol(), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if want := knocks(tt.want); !reflect.DeepEqual(plan.Knocks, want) {
				t.Errorf("knocks (-want +got):\n  -%v\n  +%v", want, plan.Knocks)
			}
			if d := diffTones(tt.wantExpected, plan.Expected()); d != "" {
				t.Errorf("Expected (-want +got):\n%s", d)
			}
		})
	}
}

// A daemon configured with another default_freq than the client assumes
// plays a song with pitch knocks the same: its first tone is pitched too.
// Without pitch knocks the song is rhythm only, at the daemon's default.
func TestComposeDaemonDefaultFreq(t *testing.T) {
	a4, g4 := NoteFreq(69), NoteFreq(67)
	song := []Tone{{440, 200 * ms, 100 * ms}, {392, 100 * ms, 0}, {440, 100 * ms, 0}}
	tests := []struct {
		name          string
		opts          ComposeOptions
		daemonDefault float64
		want          []Tone
	}{
		{"with pitch, a daemon at 440 Hz", ComposeOptions{}, 440,
			[]Tone{{a4, 200 * ms, 100 * ms}, {g4, 100 * ms, 0}, {a4, 100 * ms, 0}}},
		{"with pitch, a daemon at 500 Hz plays the same notes", ComposeOptions{}, 500,
			[]Tone{{a4, 200 * ms, 100 * ms}, {g4, 100 * ms, 0}, {a4, 100 * ms, 0}}},
		{"without pitch, a daemon at 500 Hz plays the rhythm at 500 Hz", ComposeOptions{NoPitch: true}, 500,
			[]Tone{{500, 200 * ms, 100 * ms}, {500, 200 * ms, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := Compose(song, DefaultProtocol(), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			// What the daemon plays is Expected under its own protocol.
			daemon := plan
			daemon.Protocol.DefaultFreq = tt.daemonDefault
			if d := diffTones(tt.want, daemon.Expected()); d != "" {
				t.Errorf("a daemon at %v Hz plays (-want +got):\n%s", tt.daemonDefault, d)
			}
			// Nor do the knocks depend on the default the client assumes.
			client := DefaultProtocol()
			client.DefaultFreq = tt.daemonDefault
			other, err := Compose(song, client, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(plan.Knocks, other.Knocks) {
				t.Errorf("knocks composed assuming %v Hz (-want +got):\n  -%v\n  +%v", tt.daemonDefault, plan.Knocks, other.Knocks)
			}
		})
	}
}

func TestComposeWithoutPitchPorts(t *testing.T) {
	p := DefaultProtocol()
	p.PitchBase = 0
	p.DefaultFreq = 1000
	plan, err := Compose([]Tone{{392, 100 * ms, 0}, {311, 100 * ms, 0}}, p, ComposeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := knocks("T T play"); !reflect.DeepEqual(plan.Knocks, want) {
		t.Errorf("knocks (-want +got):\n  -%v\n  +%v", want, plan.Knocks)
	}
	if d := diffTones([]Tone{{1000, 200 * ms, 0}}, plan.Expected()); d != "" {
		t.Errorf("Expected (-want +got):\n%s", d)
	}
}

func TestComposeErrors(t *testing.T) {
	bad := DefaultProtocol()
	bad.SilencePort = bad.TonePort
	tests := []struct {
		name  string
		tones []Tone
		p     Protocol
		want  string
	}{
		{"no tones", nil, DefaultProtocol(), "the song has no tones"},
		{"bad protocol", []Tone{{440, ms, 0}}, bad, "tone and silence ports are both 1000"},
		{"too long for a plan", []Tone{{440, 200000 * time.Second, 0}}, DefaultProtocol(),
			"tone 1: the song needs more than 1048576 steps, the most one plan may have (a knockbeepd pool keeps 10000 unless its config raises [music] max_steps)"},
		{"silence too long for a plan", []Tone{{440, ms, 200000 * time.Second}}, DefaultProtocol(), "more than 1048576 steps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compose(tt.tones, tt.p, ComposeOptions{})
			if err == nil || !strings.HasPrefix(err.Error(), "sequence: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Compose error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func countKnocks(pl Plan) map[KnockKind]int {
	n := map[KnockKind]int{}
	for _, k := range pl.Knocks {
		n[k.Kind]++
	}
	return n
}

// quantisedImperialMarch is the Imperial March as the daemon should play
// it, worked out from the reference table: beep's rounded frequency (or
// its nearest note's, or the default), tone units max(1, ⌊l/100 + ½⌋),
// silent units ⌊D/100 + ½⌋.
func quantisedImperialMarch(t *testing.T, freq func(hz float64) float64) []Tone {
	var want []Tone
	for _, n := range imperialMarchNotes(t) {
		units := math.Max(1, math.Floor(float64(n.length)/100+0.5))
		silent := math.Floor(float64(max(n.delay, 0))/100 + 0.5)
		want = append(want, Tone{
			Freq:   freq(math.Floor(n.freq + 0.5)),
			Length: time.Duration(units) * 100 * ms,
			Delay:  time.Duration(silent) * 100 * ms,
		})
	}
	return want
}

func TestComposeImperialMarch(t *testing.T) {
	song, err := ReadSongFile(filepath.Join("..", "songs", "imperial-march.beep"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("without pitch: the original protocol's 253 knocks", func(t *testing.T) {
		plan, err := Compose(song.Tones, DefaultProtocol(), ComposeOptions{NoPitch: true})
		if err != nil {
			t.Fatal(err)
		}
		got := countKnocks(plan)
		want := map[KnockKind]int{KnockTone: 171, KnockSilence: 82, KnockPlay: 1}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("knocks by kind (-want +got):\n  -%v\n  +%v", want, got)
		}
		if plan.Knocks[len(plan.Knocks)-1].Kind != KnockPlay {
			t.Error("the play knock is not last")
		}
		want440 := quantisedImperialMarch(t, func(float64) float64 { return 440 })
		if d := diffTones(want440, plan.Expected()); d != "" {
			t.Errorf("Expected (-want +got):\n%s", d)
		}
		if !strings.HasSuffix(plan.Summary(), "254 knocks: 171 tone, 82 silence, 0 pitch, 1 play; 253 steps of 100ms = 25.3s") {
			t.Errorf("Summary ends %q", plan.Summary()[strings.LastIndexByte(plan.Summary(), '\n')+1:])
		}
	})
	t.Run("with pitch: the tune arrives", func(t *testing.T) {
		plan, err := Compose(song.Tones, DefaultProtocol(), ComposeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		notes := quantisedImperialMarch(t, func(hz float64) float64 { return NoteFreq(NearestNote(hz)) })
		if d := diffTones(notes, plan.Expected()); d != "" {
			t.Errorf("Expected (-want +got):\n%s", d)
		}
		changes, pitch := 0, 0.0 // the first note's pitch is always knocked
		for _, n := range notes {
			if n.Freq != pitch {
				changes, pitch = changes+1, n.Freq
			}
		}
		got := countKnocks(plan)
		want := map[KnockKind]int{KnockTone: 171, KnockSilence: 82, KnockPitch: changes, KnockPlay: 1}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("knocks by kind (-want +got):\n  -%v\n  +%v", want, got)
		}
	})
}

// TestComposeSongsRoundTrip composes every shipped song and checks what the
// daemon would play: as long as the song quantised tone by tone, and the
// same melody (runs of one note counted once).
func TestComposeSongsRoundTrip(t *testing.T) {
	files := songFiles(t)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			song, err := ReadSongFile(file)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := Compose(song.Tones, DefaultProtocol(), ComposeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var units float64
			var melody []float64
			for _, tone := range song.Tones {
				l, d := float64(tone.Length)/float64(100*ms), float64(tone.Delay)/float64(100*ms)
				if tone.Length > 0 && tone.Freq > 0 {
					units += math.Max(1, math.Floor(l+0.5)) + math.Floor(d+0.5)
					if f := NoteFreq(NearestNote(tone.Freq)); len(melody) == 0 || melody[len(melody)-1] != f {
						melody = append(melody, f)
					}
				} else {
					units += math.Floor(l + d + 0.5)
				}
			}
			var played time.Duration
			var heard []float64
			for _, tone := range plan.Expected() {
				played += tone.Duration()
				if tone.Length > 0 && (len(heard) == 0 || heard[len(heard)-1] != tone.Freq) {
					heard = append(heard, tone.Freq)
				}
			}
			if want := time.Duration(units) * 100 * ms; played != want {
				t.Errorf("the daemon plays %v, want %v", played, want)
			}
			if !reflect.DeepEqual(melody, heard) {
				t.Errorf("melody (-want +got):\n  -%v\n  +%v", melody, heard)
			}
		})
	}
}

func TestPlanSummary(t *testing.T) {
	plan := Plan{Protocol: DefaultProtocol(), Knocks: knocks("G4 T T T T S T S S A#4 T play")}
	want := "pitch G4, tone ×4, silence, tone, silence ×2, pitch A#4, tone, play\n" +
		"12 knocks: 6 tone, 3 silence, 2 pitch, 1 play; 9 steps of 100ms = 900ms"
	if got := plan.Summary(); got != want {
		t.Errorf("Summary (-want +got):\n-%s\n+%s", want, got)
	}
	if got := plan.StepCount(); got != 9 {
		t.Errorf("StepCount (-want +got):\n-9\n+%d", got)
	}
}

func TestProtocolClassify(t *testing.T) {
	p := DefaultProtocol()
	tests := []struct {
		port   uint16
		want   Knock
		wantOK bool
	}{
		{1000, Knock{Kind: KnockTone}, true},
		{1001, Knock{Kind: KnockSilence}, true},
		{1002, Knock{Kind: KnockPlay}, true},
		{2000, Knock{Kind: KnockPitch, Note: 0}, true},
		{2069, Knock{Kind: KnockPitch, Note: 69}, true},
		{2127, Knock{Kind: KnockPitch, Note: 127}, true},
		{2128, Knock{}, false},
		{1999, Knock{}, false},
		{0, Knock{}, false},
		{22, Knock{}, false},
	}
	for _, tt := range tests {
		got, ok := p.Classify(tt.port)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Classify(%d) = %+v, %v; want %+v, %v", tt.port, got, ok, tt.want, tt.wantOK)
		}
		if ok && got.Port(p) != tt.port {
			t.Errorf("Classify(%d).Port() = %d: not a round trip", tt.port, got.Port(p))
		}
	}
	p.PitchBase = 0
	if k, ok := p.Classify(0); ok {
		t.Errorf("with pitch off, port 0 is %+v", k)
	}
	if k, ok := p.Classify(2069); ok {
		t.Errorf("with pitch off, port 2069 is %+v", k)
	}
}

func TestProtocolValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Protocol)
		want   string // "" for valid
	}{
		{"default", func(*Protocol) {}, ""},
		{"pitch off", func(p *Protocol) { p.PitchBase = 0 }, ""},
		{"highest pitch base", func(p *Protocol) { p.PitchBase = 65535 - 127; p.NoteBase = 0 }, ""},
		{"notes off", func(p *Protocol) { p.NoteBase = 0; p.NoteUnit = 0 }, ""},
		{"lowest note base", func(p *Protocol) { p.NoteBase = 3000 }, ""},
		{"note ports run past 65535", func(p *Protocol) { p.NoteBase = 40000 }, "note ports 40000-72767 run past 65535: lower the note base to at most 32768"},
		{"a port among the note ports", func(p *Protocol) { p.NoteBase = 999 }, "tone port 1000 lies among the note ports 999-33766"},
		{"pitch ports among the note ports", func(p *Protocol) { p.NoteBase = 2100 }, "pitch ports 2000-2127 overlap the note ports 2100-34867"},
		{"note unit 0", func(p *Protocol) { p.NoteUnit = 0 }, "note unit 0s out of range"},
		{"note unit too long", func(p *Protocol) { p.NoteUnit = 2 * time.Second }, "note unit 2s out of range"},
		{"tone port 0", func(p *Protocol) { p.TonePort = 0 }, "tone port is 0"},
		{"same ports", func(p *Protocol) { p.PlayPort = p.SilencePort }, "silence and play ports are both 1001"},
		{"pitch ports run past 65535", func(p *Protocol) { p.PitchBase = 65500 }, "pitch ports 65500-65627 run past 65535"},
		{"a port among the pitch ports", func(p *Protocol) { p.PitchBase = 950 }, "tone port 1000 lies among the pitch ports 950-1077"},
		{"zero step", func(p *Protocol) { p.Step = 0 }, "step 0s out of range"},
		{"step too long", func(p *Protocol) { p.Step = time.Hour }, "step 1h0m0s out of range"},
		{"no default frequency", func(p *Protocol) { p.DefaultFreq = 0 }, "default frequency 0 Hz out of range"},
		{"shortest step", func(p *Protocol) { p.Step = MinStep }, ""},
		{"step under a millisecond", func(p *Protocol) { p.Step = MinStep - 1 }, "step 999.999µs out of range: want 1ms to 5m0s"},
		{"note unit under a millisecond", func(p *Protocol) { p.NoteUnit = time.Microsecond }, "note unit 1µs out of range: want 1ms to 1s"},
		{"lowest default frequency", func(p *Protocol) { p.DefaultFreq = MinDefaultFreq }, ""},
		{"default frequency below the speaker's", func(p *Protocol) { p.DefaultFreq = 19 }, "default frequency 19 Hz out of range: want 20 to 20000 Hz"},
		{"default frequency NaN", func(p *Protocol) { p.DefaultFreq = math.NaN() }, "default frequency NaN Hz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultProtocol()
			tt.change(&p)
			err := p.Validate()
			if tt.want == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), "sequence: music protocol: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if err := (Protocol{}).Validate(); err == nil || strings.Count(err.Error(), "\n") < 4 {
		t.Errorf("the zero Protocol should report every problem, got %v", err)
	}
}

func ExampleCompose() {
	song, err := ParseRTTTL("Twinkle:d=4,o=5,b=120:c,c,g,g,a,a,2g")
	if err != nil {
		fmt.Println(err)
		return
	}
	plan, err := Compose(song.Tones, DefaultProtocol(), ComposeOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(plan.Summary())
	// Output:
	// pitch C5, tone ×4, silence, tone ×4, silence, pitch G5, tone ×4, silence, tone ×4, silence, pitch A5, tone ×4, silence, tone ×4, silence, pitch G5, tone ×9, silence, play
	// 45 knocks: 33 tone, 7 silence, 4 pitch, 1 play; 40 steps of 100ms = 4s
}

func ExamplePlan_Summary() {
	// The Imperial March's opening: three G4s and an E♭4 (beep -f 392 -l
	// 350 -D 100 -r 3 -n -f 311.1 -l 250 -D 100).
	tones := []Tone{
		{Freq: 392, Length: 350 * time.Millisecond, Delay: 100 * time.Millisecond},
		{Freq: 392, Length: 350 * time.Millisecond, Delay: 100 * time.Millisecond},
		{Freq: 392, Length: 350 * time.Millisecond, Delay: 100 * time.Millisecond},
		{Freq: 311.1, Length: 250 * time.Millisecond, Delay: 100 * time.Millisecond},
	}
	plan, err := Compose(tones, DefaultProtocol(), ComposeOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(plan.Summary())
	// Output:
	// pitch G4, tone ×4, silence, tone ×4, silence, tone ×4, silence, pitch D#4, tone ×3, silence, play
	// 22 knocks: 15 tone, 4 silence, 2 pitch, 1 play; 19 steps of 100ms = 1.9s
}
