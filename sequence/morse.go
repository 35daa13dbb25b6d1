package sequence

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// morseCodes are the International Morse Code (ITU-R M.1677-1) letters,
// figures and punctuation: '.' a dot, '-' a dash.
var morseCodes = map[rune]string{
	'A': ".-", 'B': "-...", 'C': "-.-.", 'D': "-..", 'E': ".", 'F': "..-.", 'G': "--.", 'H': "....",
	'I': "..", 'J': ".---", 'K': "-.-", 'L': ".-..", 'M': "--", 'N': "-.", 'O': "---", 'P': ".--.",
	'Q': "--.-", 'R': ".-.", 'S': "...", 'T': "-", 'U': "..-", 'V': "...-", 'W': ".--", 'X': "-..-",
	'Y': "-.--", 'Z': "--..",
	'0': "-----", '1': ".----", '2': "..---", '3': "...--", '4': "....-", '5': ".....", '6': "-....",
	'7': "--...", '8': "---..", '9': "----.",
	'.': ".-.-.-", ',': "--..--", '?': "..--..", '\'': ".----.", '!': "-.-.--", '/': "-..-.", '(': "-.--.",
	')': "-.--.-", '&': ".-...", ':': "---...", ';': "-.-.-.", '=': "-...-", '+': ".-.-.", '-': "-....-",
	'_': "..--.-", '"': ".-..-.", '$': "...-..-", '@': ".--.-.",
}

// MorseFreq is the tone of Morse code played on the speaker: 700 Hz, in
// the range operators listen to.
const MorseFreq = 700

// MorseUnit is the length of a dot at wpm words per minute, by the PARIS
// standard: a word is 50 units, so a unit is 1.2 s / wpm.
func MorseUnit(wpm int) time.Duration { return 1200 * time.Millisecond / time.Duration(wpm) }

// Morse returns text as Morse code tones at wpm words per minute: a dot
// is one unit of tone, a dash three; one unit of silence follows each
// within a letter, three end a letter and seven a word. Letters are
// matched without case; a character Morse has no code for (an accent,
// another script, an emoji) is played as the error signal, eight dots, so
// that the listener hears that something was there. Runs of spaces count
// as one.
func Morse(text string, wpm int) ([]Tone, error) {
	if wpm < 5 || wpm > 60 {
		return nil, fmt.Errorf("morse: %d words per minute: give 5 to 60", wpm)
	}
	unit := MorseUnit(wpm)
	var tones []Tone
	pending := time.Duration(0) // units of silence before the next tone: the largest gap asked for
	gap := func(units time.Duration) { pending = max(pending, units) }
	for _, word := range strings.Fields(text) {
		gap(7)
		for _, r := range word {
			gap(3)
			code, ok := morseCodes[unicode.ToUpper(r)]
			if !ok {
				code = "........"
			}
			for _, sym := range code {
				gap(1)
				if n := len(tones); n > 0 {
					tones[n-1].Delay = pending * unit
				}
				pending = 0
				length := unit
				if sym == '-' {
					length = 3 * unit
				}
				tones = append(tones, Tone{Freq: MorseFreq, Length: length})
			}
		}
	}
	if len(tones) == 0 {
		return nil, fmt.Errorf("morse: %q has nothing to play", text)
	}
	return tones, nil
}
