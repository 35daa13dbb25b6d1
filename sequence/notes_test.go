package sequence

import (
	"path/filepath"
	"testing"
	"time"
)

func TestNoteKnockPortsRoundTrip(t *testing.T) {
	p := DefaultProtocol()
	seen := make(map[uint16]bool)
	for note := uint8(0); note <= NoteRestPitch; note++ {
		for length := uint8(1); length <= MaxNoteUnits; length++ {
			for rest := uint8(0); rest <= MaxRestUnits; rest++ {
				k := Knock{Kind: KnockNote, Note: note, Length: length, Rest: rest}
				port := k.Port(p)
				if seen[port] {
					t.Fatalf("%+v shares port %d with another note", k, port)
				}
				seen[port] = true
				if got, ok := p.Classify(port); !ok || got != k {
					t.Fatalf("Classify(%d) = %+v, %v; want %+v", port, got, ok, k)
				}
			}
		}
	}
	if len(seen) != NotePorts {
		t.Fatalf("%d note ports, want %d", len(seen), NotePorts)
	}
	if _, ok := p.Classify(p.NoteBase - 1); ok && p.NoteBase-1 != p.PitchBase+127 {
		t.Error("the port below the note ports is a knock")
	}
}

func TestNoteSteps(t *testing.T) {
	p := DefaultProtocol() // 25 ms units
	a4 := 69
	tests := []struct {
		name string
		k    Knock
		want []PoolStep
	}{
		{"note with rest", Knock{Kind: KnockNote, Note: 2, Length: 14, Rest: 4},
			[]PoolStep{{StepTone, NoteFreq(71), 350 * time.Millisecond}, {StepSilence, 0, 100 * time.Millisecond}}},
		{"note without rest", Knock{Kind: KnockNote, Note: 0, Length: 1}, []PoolStep{{StepTone, 440, 25 * time.Millisecond}}},
		{"rest knock", Knock{Kind: KnockNote, Note: NoteRestPitch, Length: 32, Rest: 31}, []PoolStep{{StepSilence, 0, 63 * 25 * time.Millisecond}}},
		{"above the highest note", Knock{Kind: KnockNote, Note: 30, Length: 1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := a4
			if tt.name == "above the highest note" {
				base = 120
			}
			steps, n := p.NoteSteps(tt.k, base)
			got := steps[:n]
			if len(got) != len(tt.want) {
				t.Fatalf("NoteSteps = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("NoteSteps = %v, want %v", got, tt.want)
				}
				if err := got[i].Validate(); err != nil {
					t.Fatalf("step %d is not a valid pool step: %v", i, err)
				}
			}
		})
	}
}

// TestComposeNotesImperialMarch: the Imperial March in at most 70 knocks,
// playing at its written rhythm: every note and every rest within one
// unit (25 ms) of the score, every pitch exact.
func TestComposeNotesImperialMarch(t *testing.T) {
	song, err := ReadSongFile(filepath.Join("..", "songs", "imperial-march.beep"))
	if err != nil {
		t.Fatal(err)
	}
	p := DefaultProtocol()
	plan, err := Compose(song.Tones, p, ComposeOptions{Notes: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Knocks) > 70 {
		t.Errorf("%d knocks, want at most 70:\n%s", len(plan.Knocks), plan.Summary())
	}
	played := plan.Expected()
	if len(played) != len(song.Tones) {
		t.Fatalf("plays %d tones, the score has %d", len(played), len(song.Tones))
	}
	var written, heard time.Duration
	for i, want := range song.Tones {
		got := played[i]
		if NearestNote(got.Freq) != NearestNote(want.Freq) {
			t.Errorf("note %d: %v Hz, want %v Hz", i+1, got.Freq, want.Freq)
		}
		if d := (got.Length - want.Length).Abs(); d > p.NoteUnit {
			t.Errorf("note %d: length %v, written %v: off by more than one unit", i+1, got.Length, want.Length)
		}
		if i < len(song.Tones)-1 {
			if d := (got.Delay - want.Delay).Abs(); d > p.NoteUnit {
				t.Errorf("note %d: rest %v, written %v: off by more than one unit", i+1, got.Delay, want.Delay)
			}
		}
		written += want.Duration()
		heard += got.Duration()
	}
	t.Logf("%d knocks; written %v, plays %v", len(plan.Knocks), written, heard)
	t.Log(plan.Summary())
}

func TestComposeNotes(t *testing.T) {
	ms := time.Millisecond
	a4, c5 := NoteFreq(69), NoteFreq(72)
	tests := []struct {
		name   string
		tones  []Tone
		knocks int // including the pitch and play knocks
		want   []Tone
	}{
		{"one note", []Tone{{a4, 100 * ms, 0}}, 3, []Tone{{a4, 100 * ms, 0}}},
		{"a note longer than 32 units continues", []Tone{{a4, 2 * time.Second, 0}}, 5, []Tone{{a4, 2 * time.Second, 0}}},
		{"a long rest becomes rest knocks", []Tone{{a4, 100 * ms, 3 * time.Second}, {c5, 100 * ms, 0}}, 6,
			[]Tone{{a4, 100 * ms, 3 * time.Second}, {c5, 100 * ms, 0}}},
		{"a leading silence", []Tone{{0, 0, 500 * ms}, {a4, 100 * ms, 0}}, 4, []Tone{{0, 0, 500 * ms}, {a4, 100 * ms, 0}}},
		{"repeated notes stay apart", []Tone{{a4, 100 * ms, 0}, {a4, 100 * ms, 0}}, 4, []Tone{{a4, 75 * ms, 25 * ms}, {a4, 100 * ms, 0}}},
		{"a leap of more than 30 semitones re-bases", []Tone{{NoteFreq(40), 100 * ms, 0}, {NoteFreq(90), 100 * ms, 0}}, 5,
			[]Tone{{NoteFreq(40), 100 * ms, 0}, {NoteFreq(90), 100 * ms, 0}}},
		{"a note shorter than a unit still sounds", []Tone{{a4, 5 * ms, 0}}, 3, []Tone{{a4, 25 * ms, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := Compose(tt.tones, DefaultProtocol(), ComposeOptions{Notes: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Knocks) != tt.knocks {
				t.Errorf("%d knocks, want %d: %s", len(plan.Knocks), tt.knocks, plan.Summary())
			}
			if got := plan.Expected(); !equalTones(got, tt.want) {
				t.Errorf("plays (-want +got):\n-%v\n+%v", tt.want, got)
			}
		})
	}
	if _, err := Compose([]Tone{{a4, ms, 0}}, Protocol{TonePort: 1, SilencePort: 2, PlayPort: 3, Step: ms, DefaultFreq: 440}, ComposeOptions{Notes: true}); err == nil {
		t.Error("Compose with notes on a protocol without note ports succeeded")
	}
}

func equalTones(a, b []Tone) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzNoteKnock: any port the protocol calls a note knock prints back to
// itself and appends valid pool steps, whatever the current pitch.
func FuzzNoteKnock(f *testing.F) {
	for _, port := range []uint16{32768, 65535, 40000, 1000, 0} {
		f.Add(port, uint8(69))
	}
	p := DefaultProtocol()
	f.Fuzz(func(t *testing.T, port uint16, base uint8) {
		k, ok := p.Classify(port)
		if !ok || k.Kind != KnockNote {
			return
		}
		if k.Port(p) != port {
			t.Fatalf("Classify(%d) = %+v, which is port %d", port, k, k.Port(p))
		}
		steps, n := p.NoteSteps(k, int(base%128))
		for _, s := range steps[:n] {
			if err := s.Validate(); err != nil {
				t.Fatalf("port %d appends an invalid step %+v: %v", port, s, err)
			}
		}
	})
}
