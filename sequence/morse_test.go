package sequence

import (
	"strings"
	"testing"
	"time"
)

// morseString writes tones back as dots, dashes and gaps: ' ' between
// letters, " / " between words; it fails on a length that is no unit.
func morseString(t testing.TB, tones []Tone, unit time.Duration) string {
	t.Helper()
	var b strings.Builder
	for _, tone := range tones {
		switch tone.Length {
		case unit:
			b.WriteByte('.')
		case 3 * unit:
			b.WriteByte('-')
		default:
			t.Fatalf("a tone of %v: neither a dot (%v) nor a dash", tone.Length, unit)
		}
		switch tone.Delay {
		case 0, unit:
		case 3 * unit:
			b.WriteByte(' ')
		case 7 * unit:
			b.WriteString(" / ")
		default:
			t.Fatalf("a gap of %v", tone.Delay)
		}
		if tone.Freq != MorseFreq {
			t.Fatalf("a tone at %v Hz", tone.Freq)
		}
	}
	return b.String()
}

func TestMorse(t *testing.T) {
	for _, tt := range []struct {
		text, want string
	}{
		{"SOS", "... --- ..."},
		{"sos", "... --- ..."},
		{"Paris  ok", ".--. .- .-. .. ... / --- -.-"},
		{"v1.2 ✓", "...- .---- .-.-.- ..--- / ........"},
	} {
		tones, err := Morse(tt.text, 20)
		if err != nil {
			t.Fatal(err)
		}
		if got := morseString(t, tones, MorseUnit(20)); got != tt.want {
			t.Errorf("Morse(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
	// PARIS is 50 units a word: 43 within the word and the 7 after it.
	tones, _ := Morse("PARIS", 20)
	var total time.Duration
	for _, tone := range tones {
		total += tone.Duration()
	}
	if want := 43 * MorseUnit(20); total != want {
		t.Errorf("PARIS at 20 wpm takes %v, want %v (43 units of 60 ms)", total, want)
	}
	for _, bad := range []struct {
		text string
		wpm  int
	}{{"", 20}, {"   ", 20}, {"x", 4}, {"x", 61}} {
		if _, err := Morse(bad.text, bad.wpm); err == nil {
			t.Errorf("Morse(%q, %d) accepted", bad.text, bad.wpm)
		}
	}
}

func FuzzMorse(f *testing.F) {
	f.Add("SOS deploy v1.2 ✓", 20)
	f.Add("", 5)
	f.Fuzz(func(t *testing.T, text string, wpm int) {
		tones, err := Morse(text, wpm)
		if err != nil {
			return
		}
		// Every tone is a dot or a dash, every gap one of the three.
		morseString(t, tones, MorseUnit(wpm))
		if n := len(strings.Fields(text)); n == 0 {
			t.Fatalf("%q played %d tones", text, len(tones))
		}
	})
}
