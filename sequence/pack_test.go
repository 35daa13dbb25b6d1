package sequence

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// imperialPlans are the Imperial March composed both ways: the original
// protocol's steps with pitch knocks, and note knocks.
func imperialPlans(t testing.TB) map[string]Plan {
	cmd, err := ParseBeepArgs(strings.Fields(imperialMarchScript)[1:])
	if err != nil {
		t.Fatal(err)
	}
	plans := map[string]Plan{}
	for name, opts := range map[string]ComposeOptions{"steps": {}, "notes": {Notes: true}} {
		plan, err := Compose(cmd.Tones(), DefaultProtocol(), opts)
		if err != nil {
			t.Fatal(err)
		}
		plans[name] = plan
	}
	return plans
}

func TestPackKnocksRoundTrip(t *testing.T) {
	for name, plan := range imperialPlans(t) {
		t.Run(name, func(t *testing.T) {
			b, err := PackKnocks(plan.Knocks)
			if err != nil {
				t.Fatal(err)
			}
			got, err := UnpackKnocks(b)
			if err != nil {
				t.Fatal(err)
			}
			want := plan.Knocks[:len(plan.Knocks)-1] // the play knock is the frame itself
			if !slices.Equal(got, want) {
				t.Fatalf("unpacked %d knocks, want the plan's %d without its play:\n got %v\nwant %v", len(got), len(want), got, want)
			}
			t.Logf("%d knocks pack into %d bytes", len(want), len(b))
		})
	}
}

// The runs: 64 tones fit one byte, 63 silences (0xFF is the pitch prefix).
func TestPackKnocksRuns(t *testing.T) {
	repeat := func(kind KnockKind, n int) []Knock {
		ks := make([]Knock, n)
		for i := range ks {
			ks[i] = Knock{Kind: kind}
		}
		return ks
	}
	tests := []struct {
		name   string
		knocks []Knock
		want   []byte
	}{
		{"one tone", repeat(KnockTone, 1), []byte{0x80}},
		{"64 tones", repeat(KnockTone, 64), []byte{0xBF}},
		{"65 tones", repeat(KnockTone, 65), []byte{0xBF, 0x80}},
		{"63 silences", repeat(KnockSilence, 63), []byte{0xFE}},
		{"64 silences", repeat(KnockSilence, 64), []byte{0xFE, 0xC0}},
		{"pitch then note", []Knock{{Kind: KnockPitch, Note: 69}, {Kind: KnockNote, Note: 3, Length: 2, Rest: 1}}, []byte{0xFF, 69, 0x0C, 0x21}},
		{"play at the end dropped", append(repeat(KnockTone, 2), Knock{Kind: KnockPlay}), []byte{0x81}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PackKnocks(tt.knocks)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("PackKnocks = % x, want % x", got, tt.want)
			}
			back, err := UnpackKnocks(got)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.knocks
			if want[len(want)-1].Kind == KnockPlay {
				want = want[:len(want)-1]
			}
			if !slices.Equal(back, want) {
				t.Fatalf("round trip: %v, want %v", back, want)
			}
		})
	}
}

func TestPackKnocksRefuses(t *testing.T) {
	tests := []struct {
		name   string
		knocks []Knock
		want   string
	}{
		{"nothing", nil, "no knocks"},
		{"only a play", []Knock{{Kind: KnockPlay}}, "no knocks"},
		{"a play in the middle", []Knock{{Kind: KnockTone}, {Kind: KnockPlay}, {Kind: KnockTone}}, "knock 2: a play knock before the end"},
		{"a pitch above MIDI", []Knock{{Kind: KnockPitch, Note: 128}}, "knock 1: pitch 128"},
		{"a note of length 0", []Knock{{Kind: KnockNote, Note: 1}}, "knock 1: note 1, length 0"},
		{"a note of 33 units", []Knock{{Kind: KnockNote, Note: 1, Length: 33}}, "length 33"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PackKnocks(tt.knocks)
			if !errors.Is(err, ErrPacked) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrPacked saying %q", err, tt.want)
			}
		})
	}
}

func TestUnpackKnocksRefuses(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"a note cut short", []byte{0x80, 0x12}, "byte 2: a note knock cut short"},
		{"a pitch cut short", []byte{0xFF}, "byte 1: a pitch knock cut short"},
		{"a pitch above MIDI", []byte{0xFF, 200}, "byte 2: pitch 200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := UnpackKnocks(tt.b)
			if !errors.Is(err, ErrPacked) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrPacked saying %q", err, tt.want)
			}
		})
	}
}

// FuzzUnpackKnocks: any bytes either unpack into knocks that pack back
// into the same bytes' meaning, or are refused; never a panic.
func FuzzUnpackKnocks(f *testing.F) {
	for _, plan := range imperialPlans(f) {
		b, err := PackKnocks(plan.Knocks)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xFF, 0x7F, 0xBF, 0xFE, 0x7F, 0xFF})
	f.Add([]byte{0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		knocks, err := UnpackKnocks(b)
		if err != nil {
			return
		}
		again, err := PackKnocks(knocks)
		if err != nil {
			t.Fatalf("knocks unpacked from % x do not pack: %v", b, err)
		}
		back, err := UnpackKnocks(again)
		if err != nil || !slices.Equal(back, knocks) {
			t.Fatalf("% x: repacked as % x, which unpacks to %v (%v), not %v", b, again, back, err, knocks)
		}
	})
}
