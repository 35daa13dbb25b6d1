package sequence

import (
	"strings"
	"time"
)

// MML limits and defaults, as in GW-BASIC's PLAY.
const (
	mmlDefaultOctave = 4
	mmlMaxOctave     = 6
	mmlDefaultTempo  = 120
	mmlMinTempo      = 32
	mmlMaxTempo      = 255
	mmlDefaultValue  = 4 // quarter notes
	mmlMaxValue      = 64
	mmlMaxNoteNumber = 84
	mmlMaxDots       = 8

	// mmlOctave0C is the MIDI note of C in octave O0: GW-BASIC's manual puts
	// middle C (MIDI 60) at the start of octave 3.
	mmlOctave0C = 24
)

// Articulation: how many eighths of a note's time it sounds.
const (
	mmlStaccato = 6 // MS
	mmlNormal   = 7 // MN, the default
	mmlLegato   = 8 // ML
)

// ParseMML parses a Music Macro Language string as GW-BASIC's PLAY
// statement and FreeBSD's speaker(4) read it:
//
//	T120 L8 O3 C D E F# G4. P8 > C
//
// Commands, in either case, with blanks anywhere between them:
//
//	A–G   a note, then # or + (sharp) or - (flat), a length, dots, and _
//	Nn    note n of 1–84 (N1 is O0's C, N37 middle C); N0 is a rest
//	On    octave 0–6 (default 4); > and < go up and down one, stopping at
//	      6 and 0; OL and ON switch speaker(4)'s octave tracking on and off
//	Ln    default length 1–64 (1 whole, 4 quarter: the default)
//	Pn ~n a pause of length n (or the default length)
//	Tn    tempo, 32–255 quarter notes a minute (default 120)
//	MN ML MS  notes sound 7/8 (the default), all or 6/8 of their time
//	MF MB     foreground and background play: accepted, no effect
//
// Each dot after a length makes a note or pause half as long again (two
// dots: 9/4). "_" after a note plays it legato. A line whose first
// non-blank byte is '#' is a comment, and a line may be written as BASIC
// source, PLAY "...".
//
// # Octaves
//
// Octave numbers follow GW-BASIC: middle C (C4, 261.63 Hz) starts octave
// 3, so the default octave 4 has A at 880 Hz and O3 A is 440 Hz. FreeBSD's
// speaker(4) plays every octave one higher (its O4 A is 1760 Hz): a string
// written for /dev/speaker sounds an octave lower here; add ">" at its start
// to hear it at FreeBSD's pitch.
//
// FreeBSD's octave tracking (OL) moves each letter note to the octave
// closest to the note before it, unless an O, > or < came in between.
//
// # Voices
//
// A comma separates voices (channels), as in MSX BASIC's
// PLAY "voice 1","voice 2","voice 3" and most MML dialects that have
// channels: each voice starts afresh with the defaults (O4, T120, L4, MN)
// and is its own list of tones, played from the same instant as the
// others. A song with more than one voice has them all in Song.Voices,
// the first also in Song.Tones; every voice must have a note.
func ParseMML(text string) (Song, error) {
	p := mmlParser{s: songText{format: FormatMML, src: text}}
	p.reset()
	if err := p.parse(); err != nil {
		return Song{}, err
	}
	if err := p.endVoice(len(text)); err != nil {
		return Song{}, err
	}
	song := Song{Format: FormatMML, Tones: p.voices[0]}
	if len(p.voices) > 1 {
		song.Voices = p.voices
	}
	return song, nil
}

// reset gives the next voice the defaults.
func (p *mmlParser) reset() {
	p.octave, p.tempo, p.value, p.fill = mmlDefaultOctave, mmlDefaultTempo, mmlDefaultValue, mmlNormal
	p.tracking, p.prefix, p.last = false, true, mmlOctave0C+12*mmlDefaultOctave
	p.tones = nil
}

// endVoice closes the voice whose text ends at byte at.
func (p *mmlParser) endVoice(at int) error {
	if !hasSound(p.tones) {
		if len(p.voices) == 0 && at == len(p.s.src) {
			return p.s.errorAt(at, "the song has no notes")
		}
		return p.s.errorAt(at, "voice %d has no notes (a comma starts a new voice)", len(p.voices)+1)
	}
	if len(p.voices) >= MaxVoices {
		return p.s.errorAt(at, "more than %d voices", MaxVoices)
	}
	p.total += len(p.tones)
	p.voices = append(p.voices, p.tones)
	return nil
}

type mmlParser struct {
	s        songText
	octave   int
	tempo    int
	value    int
	fill     int
	tracking bool // OL
	prefix   bool // an octave command since the last note
	last     int  // MIDI note of the last note, for tracking
	inQuote  bool // inside PLAY "..."
	tones    []Tone
	voices   [][]Tone // the voices before this one
	total    int      // their tones, for MaxSongTones
}

func (p *mmlParser) parse() error {
	s := &p.s
	for {
		p.skip()
		if s.eof() {
			if p.inQuote {
				return s.errorAt(s.i, "the PLAY string's quote is never closed")
			}
			return nil
		}
		if err := p.command(); err != nil {
			return err
		}
	}
}

// skip moves past blanks, comments and the BASIC wrapping PLAY "...".
func (p *mmlParser) skip() {
	s := &p.s
	for {
		s.skipSpace()
		if s.eof() {
			return
		}
		c := s.src[s.i]
		switch {
		case c == '"':
			p.inQuote = !p.inQuote
			s.i++
		case !p.inQuote && s.atLineStart() && len(s.src)-s.i > 4 && strings.EqualFold(s.src[s.i:s.i+4], "play") &&
			strings.IndexByte(" \t\"", s.src[s.i+4]) >= 0:
			s.i += 4
		default:
			return
		}
	}
}

func (p *mmlParser) command() error {
	s := &p.s
	at := s.i
	c := s.peek()
	s.i++
	switch c {
	case 'a', 'b', 'c', 'd', 'e', 'f', 'g':
		return p.note(at, c)
	case 'n':
		n, ok := s.number()
		if !ok {
			return s.errorAt(at, "N needs a note number 0–84")
		}
		if n > mmlMaxNoteNumber {
			return s.errorAt(at, "N%d: want a note number 0–84", n)
		}
		dots, err := p.dots()
		if err != nil {
			return err
		}
		fill := p.slur()
		if n == 0 {
			return p.rest(at, p.value, dots)
		}
		return p.play(at, mmlOctave0C+n-1, p.value, dots, fill)
	case 'o':
		switch s.peek() {
		case 'l':
			s.i++
			p.tracking = true
			return nil
		case 'n':
			s.i++
			p.tracking, p.prefix = false, false
			return nil
		case '=':
			return s.errorAt(s.i, "BASIC variables and substrings (X, =) are not supported: write the notes out")
		}
		n, ok := s.number()
		if !ok || n > mmlMaxOctave {
			return s.errorAt(at, "O needs an octave 0–6 (or OL/ON for octave tracking)")
		}
		p.octave, p.prefix = n, true
	case '>':
		p.octave, p.prefix = min(p.octave+1, mmlMaxOctave), true
	case '<':
		p.octave, p.prefix = max(p.octave-1, 0), true
	case 'l':
		n, ok := s.number()
		if !ok || n < 1 || n > mmlMaxValue {
			return s.errorAt(at, "L needs a length 1–64 (4 is a quarter note)")
		}
		p.value = n
	case 'p', '~':
		value, err := p.length(at)
		if err != nil {
			return err
		}
		dots, err := p.dots()
		if err != nil {
			return err
		}
		return p.rest(at, value, dots)
	case 't':
		n, ok := s.number()
		if !ok || n < mmlMinTempo || n > mmlMaxTempo {
			return s.errorAt(at, "T needs a tempo of 32–255 quarter notes a minute")
		}
		p.tempo = n
	case 'm':
		switch s.peek() {
		case 'n':
			p.fill = mmlNormal
		case 'l':
			p.fill = mmlLegato
		case 's':
			p.fill = mmlStaccato
		case 'f', 'b':
		default:
			return s.errorAt(at, "M must be followed by N, L, S (articulation) or F, B (foreground, background)")
		}
		s.i++
	case ',':
		if err := p.endVoice(at); err != nil {
			return err
		}
		p.reset()
	case 'x', '=':
		return s.errorAt(at, "BASIC variables and substrings (X, =) are not supported: write the notes out")
	default:
		return s.errorAt(at, "%s is not an MML command (A-G, N, O, <, >, L, P, ~, T, M, and , between voices)", quoteByte(s.src[at]))
	}
	return nil
}

func (p *mmlParser) note(at int, letter byte) error {
	s := &p.s
	pitch := mmlOctave0C + 12*p.octave + letterSemitone[letter-'a']
	switch s.peek() {
	case '#', '+':
		pitch++
		s.i++
	case '-':
		pitch--
		s.i++
	}
	if p.tracking && !p.prefix {
		// speaker(4): the octave of this letter closest to the last note.
		if abs(pitch-p.last) > abs(pitch+12-p.last) {
			p.octave++
			pitch += 12
		}
		if abs(pitch-p.last) > abs(pitch-12-p.last) {
			p.octave--
			pitch -= 12
		}
	}
	p.prefix = false
	p.last = pitch
	value, err := p.length(at)
	if err != nil {
		return err
	}
	dots, err := p.dots()
	if err != nil {
		return err
	}
	return p.play(at, pitch, value, dots, p.slur())
}

// length reads an optional length after a note or pause.
func (p *mmlParser) length(at int) (int, error) {
	s := &p.s
	lengthAt := s.i
	n, ok := p.s.number()
	if !ok {
		return p.value, nil
	}
	if n < 1 || n > mmlMaxValue {
		return 0, s.errorAt(lengthAt, "length %d after %q: want 1–64", n, s.src[at:at+1])
	}
	return n, nil
}

func (p *mmlParser) dots() (int, error) {
	s := &p.s
	start := s.i
	for s.peek() == '.' {
		s.i++
	}
	if s.i-start > mmlMaxDots {
		return 0, s.errorAt(start, "%d dots: at most %d", s.i-start, mmlMaxDots)
	}
	return s.i - start, nil
}

// slur reads speaker(4)'s "_", which plays one note legato.
func (p *mmlParser) slur() int {
	if p.s.peek() == '_' {
		p.s.i++
		return mmlLegato
	}
	return p.fill
}

// duration is the time of a note of 1/value of a whole note with dots.
func (p *mmlParser) duration(value, dots int) time.Duration {
	d := float64(4*time.Minute) / float64(p.tempo) / float64(value)
	for range dots {
		d *= 1.5
	}
	return time.Duration(d + 0.5)
}

func (p *mmlParser) rest(at, value, dots int) error {
	if err := p.room(at); err != nil {
		return err
	}
	p.tones = appendRest(p.tones, p.duration(value, dots))
	return nil
}

func (p *mmlParser) play(at, midi, value, dots, fill int) error {
	if err := p.room(at); err != nil {
		return err
	}
	if midi < 0 || midi > highestNote {
		return p.s.errorAt(at, "note is outside the MIDI range")
	}
	d := p.duration(value, dots)
	sound := d * time.Duration(fill) / 8
	p.tones = append(p.tones, Tone{Freq: NoteFreq(midi), Length: sound, Delay: d - sound})
	return nil
}

func (p *mmlParser) room(at int) error {
	if p.total+len(p.tones) >= MaxSongTones {
		return p.s.errorAt(at, "more than %d notes", MaxSongTones)
	}
	return nil
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
