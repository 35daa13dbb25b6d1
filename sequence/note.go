package sequence

import (
	"fmt"
	"math"
	"strconv"
)

// MIDI note numbers run from 0 (C-1, 8.18 Hz) to 127 (G9, 12543.85 Hz);
// middle C (C4) is 60 and A4 is 69.
const (
	lowestNote  = 0
	highestNote = 127
	noteA4      = 69
	freqA4      = 440.0
)

// NoteFreq is the frequency in hertz of MIDI note n in equal temperament
// with A4 (69) at 440 Hz: 440 · 2^((n−69)/12). Any n is accepted, so that
// callers can compute notes outside MIDI's range.
func NoteFreq(n int) float64 {
	return freqA4 * math.Exp2(float64(n-noteA4)/12)
}

// NearestNote is the MIDI note closest to hz, clamped to 0..127. Frequencies
// that are not positive (or NaN) give 0.
func NearestNote(hz float64) int {
	if !(hz > 0) {
		return lowestNote
	}
	n := math.Round(noteA4 + 12*math.Log2(hz/freqA4))
	switch {
	case n < lowestNote:
		return lowestNote
	case n > highestNote:
		return highestNote
	}
	return int(n)
}

var sharpNames = [12]string{"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"}

// NoteName is the scientific name of MIDI note n with sharps: 60 is "C4",
// 61 "C#4", 0 "C-1". Numbers outside 0..127 are named "note(n)".
func NoteName(n int) string {
	if n < lowestNote || n > highestNote {
		return "note(" + strconv.Itoa(n) + ")"
	}
	return sharpNames[n%12] + strconv.Itoa(n/12-1)
}

// letterSemitone is the semitone of a natural note above C, indexed by
// letter-'A'.
var letterSemitone = [7]int{9, 11, 0, 2, 4, 5, 7}

// ParseNote reads a note name in scientific pitch notation and returns its
// MIDI number: a letter A–G (either case), any number of sharps "#" or
// flats "b", then an octave from -1 to 9 ("C4" is 60, "c#5" 73, "Bb3" 58,
// "C-1" 0, "G9" 127). The minus sign belongs to the octave, never means a
// flat. Notes outside MIDI's 0..127 are rejected.
func ParseNote(s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("sequence: note name is empty; want a letter A-G and an octave, like C4 or Bb3")
	}
	letter := s[0] | 0x20 // lower case
	if letter < 'a' || letter > 'g' {
		return 0, fmt.Errorf("sequence: note %q: %q is not a note letter A-G", s, s[:1])
	}
	semitone := letterSemitone[letter-'a']
	i := 1
	for ; i < len(s) && (s[i] == '#' || s[i] == 'b'); i++ {
		if s[i] == '#' {
			semitone++
		} else {
			semitone--
		}
		if i > 4 {
			return 0, fmt.Errorf("sequence: note %q: too many sharps or flats", s)
		}
	}
	octaveText := s[i:]
	if octaveText == "" {
		return 0, fmt.Errorf("sequence: note %q: no octave; add one, like %s4", s, s)
	}
	octave, err := strconv.Atoi(octaveText)
	if err != nil || len(octaveText) > 2 {
		return 0, fmt.Errorf("sequence: note %q: octave %q is not a number from -1 to 9", s, octaveText)
	}
	n := (octave+1)*12 + semitone
	if n < lowestNote || n > highestNote {
		return 0, fmt.Errorf("sequence: note %q is outside the MIDI range C-1..G9", s)
	}
	return n, nil
}
