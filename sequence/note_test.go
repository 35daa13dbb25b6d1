package sequence

import (
	"math"
	"strings"
	"testing"
)

func TestNoteFreq(t *testing.T) {
	tests := []struct {
		note int
		want float64
	}{
		{69, 440},
		{81, 880},
		{57, 220},
		{60, 261.6255653005986},
		{21, 27.5},
		{0, 8.175798915643707},
		{127, 12543.853951415975},
	}
	for _, tt := range tests {
		if got := NoteFreq(tt.note); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("NoteFreq(%d) = %v, want %v", tt.note, got, tt.want)
		}
	}
}

func TestNearestNote(t *testing.T) {
	tests := []struct {
		hz   float64
		want int
	}{
		{440, 69},
		{311.1, 63},
		{466.2, 70},
		{392, 67},
		{587.32, 74},
		{452, 69}, // below the quarter tone (452.89 Hz) between A4 and A#4
		{454, 70},
		{1, 0},
		{0, 0},
		{-5, 0},
		{math.NaN(), 0},
		{30000, 127},
		{math.Inf(1), 127},
	}
	for _, tt := range tests {
		if got := NearestNote(tt.hz); got != tt.want {
			t.Errorf("NearestNote(%v) = %d, want %d", tt.hz, got, tt.want)
		}
	}
	for n := 0; n <= 127; n++ {
		if got := NearestNote(NoteFreq(n)); got != n {
			t.Errorf("NearestNote(NoteFreq(%d)) = %d", n, got)
		}
	}
}

func TestParseNote(t *testing.T) {
	tests := []struct {
		name string
		want int
	}{
		{"C4", 60},
		{"c4", 60},
		{"A4", 69},
		{"c#5", 73},
		{"Bb3", 58},
		{"Cb4", 59},
		{"B#3", 60},
		{"C##4", 62},
		{"C-1", 0},
		{"G9", 127},
		{"E-1", 4},
	}
	for _, tt := range tests {
		got, err := ParseNote(tt.name)
		if err != nil || got != tt.want {
			t.Errorf("ParseNote(%q) = %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
}

func TestParseNoteErrors(t *testing.T) {
	tests := []struct{ name, text string }{
		{"", "note name is empty"},
		{"H4", `"H" is not a note letter`},
		{"C", "no octave"},
		{"C#", "no octave"},
		{"Cx4", `octave "x4" is not a number`},
		{"E-2", "outside the MIDI range"},
		{"G#9", "outside the MIDI range"},
		{"Cb-1", "outside the MIDI range"},
		{"C100", `octave "100" is not a number`},
		{"C4 ", `octave "4 " is not a number`},
		{"C#####4", "too many sharps or flats"},
	}
	for _, tt := range tests {
		_, err := ParseNote(tt.name)
		if err == nil || !strings.HasPrefix(err.Error(), "sequence: note") || !strings.Contains(err.Error(), tt.text) {
			t.Errorf("ParseNote(%q) error = %v, want one saying %q", tt.name, err, tt.text)
		}
	}
}

func TestNoteNameRoundTrip(t *testing.T) {
	for n := 0; n <= 127; n++ {
		name := NoteName(n)
		got, err := ParseNote(name)
		if err != nil || got != n {
			t.Errorf("ParseNote(NoteName(%d) = %q) = %d, %v", n, name, got, err)
		}
	}
	for n, want := range map[int]string{60: "C4", 61: "C#4", 0: "C-1", 127: "G9", 128: "note(128)", -1: "note(-1)"} {
		if got := NoteName(n); got != want {
			t.Errorf("NoteName(%d) = %q, want %q", n, got, want)
		}
	}
}

func FuzzParseNote(f *testing.F) {
	for _, seed := range []string{"C4", "c#5", "Bb3", "C-1", "G9", "E-2", "H4", "", "Cb-1", "C##4"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseNote(s)
		if err != nil {
			return
		}
		if n < 0 || n > 127 {
			t.Fatalf("ParseNote(%q) = %d, outside MIDI's 0..127", s, n)
		}
		if again, err := ParseNote(NoteName(n)); err != nil || again != n {
			t.Fatalf("ParseNote(NoteName(%d)) = %d, %v", n, again, err)
		}
	})
}
