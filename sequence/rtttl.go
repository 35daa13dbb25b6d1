package sequence

import (
	"strings"
	"time"
)

// RTTTL defaults when the settings section leaves a key out. The original
// Nokia specification says d=4, o=6, b=63; some later ones say o=4 or o=5,
// so every real file states o and these rarely matter.
const (
	rtttlDefaultDuration = 4
	rtttlDefaultOctave   = 6
	rtttlDefaultBeat     = 63
	rtttlMaxBeat         = 900
	rtttlSounding        = 7 // eighths of a note's time that sound
)

// ParseRTTTL parses a ring tone in RTTTL, "name:settings:notes":
//
//	Für Elise:d=8,o=5,b=125:32p,e6,d#6,e6,d#6,e6,b,d6,c6,4a.
//
// The settings are d (default duration: 1, 2, 4, 8, 16, 32 or 64), o
// (default octave, 0–9) and b (beats, quarter notes, per minute, 1–900);
// unknown keys are ignored and missing ones default to d=4, o=6, b=63, the
// original specification. A note is [duration] letter [#] [.] [octave] [.]:
// letters a–g, h for b (the German name), p for a pause; a dot (before or
// after the octave) makes it half as long again. Octave 4 holds A4 = 440 Hz.
// A whole note lasts 4·60000/b ms. RTTTL says nothing about articulation
// and players differ; here a note sounds 7/8 of its time and is silent for
// the rest, like MML's default, so that repeated notes stay apart instead
// of melting into one long tone. Blanks and line breaks may go anywhere,
// and lines starting with '#' are comments.
func ParseRTTTL(text string) (Song, error) {
	s := &songText{format: FormatRTTTL, src: text}
	s.skipSpace()
	nameStart := s.i
	colon := strings.IndexByte(text[s.i:], ':')
	if colon < 0 {
		return Song{}, s.errorAt(s.i, "no ':' after the name: RTTTL is \"name:d=4,o=5,b=120:notes\"")
	}
	song := Song{Name: strings.TrimSpace(text[nameStart : s.i+colon]), Format: FormatRTTTL}
	if strings.ContainsAny(song.Name, "\n") {
		return Song{}, s.errorAt(nameStart, "the name runs over a line break; RTTTL is \"name:d=4,o=5,b=120:notes\"")
	}
	s.i += colon + 1

	duration, octave, beat := rtttlDefaultDuration, rtttlDefaultOctave, rtttlDefaultBeat
	for {
		s.skipSpace()
		if s.eof() {
			return Song{}, s.errorAt(s.i, "the settings section never ends: add ':' and the notes")
		}
		if s.peek() == ':' {
			s.i++
			break
		}
		if s.peek() == ',' {
			s.i++
			continue
		}
		keyStart := s.i
		for !s.eof() && strings.IndexByte("=,: \t\r\n", s.src[s.i]) < 0 {
			s.i++
		}
		key := strings.ToLower(text[keyStart:s.i])
		s.skipSpace()
		if s.peek() != '=' {
			return Song{}, s.errorAt(s.i, "setting %q has no value: write it like d=4", key)
		}
		s.i++
		s.skipSpace()
		valueStart := s.i
		switch key {
		case "d", "o", "b":
			n, ok := s.number()
			if !ok {
				return Song{}, s.errorAt(valueStart, "setting %s needs a number", key)
			}
			switch key {
			case "d":
				if !validRTTTLDuration(n) {
					return Song{}, s.errorAt(valueStart, "default duration d=%d: want 1, 2, 4, 8, 16, 32 or 64", n)
				}
				duration = n
			case "o":
				if n > 9 {
					return Song{}, s.errorAt(valueStart, "default octave o=%d: want 0 to 9", n)
				}
				octave = n
			case "b":
				if n < 1 || n > rtttlMaxBeat {
					return Song{}, s.errorAt(valueStart, "beats per minute b=%d: want 1 to %d", n, rtttlMaxBeat)
				}
				beat = n
			}
		default: // unknown keys, like l (loop) or s (style), are ignored
			for !s.eof() && strings.IndexByte(",:\n", s.src[s.i]) < 0 {
				s.i++
			}
		}
		s.skipSpace()
		if s.eof() {
			return Song{}, s.errorAt(s.i, "the settings section never ends: add ':' and the notes")
		}
		if c := s.peek(); c != ',' && c != ':' {
			return Song{}, s.errorAt(s.i, "unexpected %s after setting %s: separate settings with ',' and end them with ':'", quoteByte(s.src[s.i]), key)
		}
	}

	whole := 4 * time.Minute / time.Duration(beat)
	for {
		s.skipSpace()
		if s.eof() {
			break
		}
		if s.peek() == ',' {
			s.i++
			continue
		}
		noteStart := s.i
		d, ok := s.number()
		if !ok {
			d = duration
		} else if !validRTTTLDuration(d) {
			return Song{}, s.errorAt(noteStart, "duration %d: want 1, 2, 4, 8, 16, 32 or 64", d)
		}
		s.skipSpace()
		letterAt := s.i
		letter := s.peek()
		semitone := 0
		switch letter {
		case 'p':
		case 'h':
			semitone = 11
		case 'a', 'b', 'c', 'd', 'e', 'f', 'g':
			semitone = letterSemitone[letter-'a']
		case ':':
			return Song{}, s.errorAt(s.i, "a second ':' here: one RTTTL song per file, and names cannot hold ':'")
		case 0:
			return Song{}, s.errorAt(s.i, "a duration with no note after it")
		default:
			return Song{}, s.errorAt(s.i, "%s is not a note: want a-g, h or p, with an optional duration before", quoteByte(s.src[s.i]))
		}
		s.i++
		if s.peek() == '#' {
			if letter == 'p' {
				return Song{}, s.errorAt(s.i, "a pause cannot be sharp")
			}
			semitone++
			s.i++
		}
		dots := 0
		for s.peek() == '.' {
			dots++
			s.i++
		}
		o := octave
		octaveAt := s.i
		if n, ok := s.number(); ok {
			if n > 9 {
				return Song{}, s.errorAt(octaveAt, "octave %d: want 0 to 9", n)
			}
			o = n
		}
		for s.peek() == '.' {
			dots++
			s.i++
		}
		if dots > 1 {
			return Song{}, s.errorAt(noteStart, "more than one dot on a note: RTTTL has single dots only")
		}
		length := whole / time.Duration(d)
		if dots == 1 {
			length += length / 2
		}
		s.skipSpace()
		if !s.eof() && s.peek() != ',' {
			if line, _, _ := strings.Cut(text[s.i:], "\n"); strings.Contains(line, ":") {
				return Song{}, s.errorAt(s.i, "a second song seems to start here: one RTTTL song per file")
			}
			return Song{}, s.errorAt(s.i, "unexpected %s after note %q: separate notes with ','", quoteByte(s.src[s.i]), strings.TrimSpace(text[noteStart:s.i]))
		}
		if len(song.Tones) >= MaxSongTones {
			return Song{}, s.errorAt(noteStart, "more than %d notes", MaxSongTones)
		}
		if letter == 'p' {
			song.Tones = appendRest(song.Tones, length)
			continue
		}
		midi := (o+1)*12 + semitone
		if midi > highestNote {
			return Song{}, s.errorAt(letterAt, "note %s is above G9, the highest MIDI note", strings.TrimSpace(text[letterAt:s.i]))
		}
		sound := length * rtttlSounding / 8
		song.Tones = append(song.Tones, Tone{Freq: NoteFreq(midi), Length: sound, Delay: length - sound})
	}
	if !hasSound(song.Tones) {
		return Song{}, s.errorAt(s.i, "the song has no notes")
	}
	return song, nil
}

func validRTTTLDuration(d int) bool {
	switch d {
	case 1, 2, 4, 8, 16, 32, 64:
		return true
	}
	return false
}
