package sequence

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Format is a song file format.
type Format uint8

const (
	FormatBeep  Format = iota + 1 // beep command lines, as users copy them
	FormatRTTTL                   // Nokia ring tones: "name:d=4,o=5,b=112:8g,16p,..."
	FormatMML                     // Music Macro Language: BASIC PLAY and speaker(4) strings
)

// String is the format's name as messages and --dry-run print it: "beep",
// "rtttl", "mml", or "format(N)" for any other value.
func (f Format) String() string {
	switch f {
	case FormatBeep:
		return "beep"
	case FormatRTTTL:
		return "rtttl"
	case FormatMML:
		return "mml"
	}
	return "format(" + strconv.Itoa(int(f)) + ")"
}

// A Song is a parsed song file.
type Song struct {
	Name   string
	Format Format
	Tones  []Tone
	// Voices are the parts of a song written for several speakers (MML
	// voices separated by commas), each played from the song's start;
	// Tones is then Voices[0]. Nil for a song of one voice.
	Voices [][]Tone
}

// MaxVoices is the most voices a song may have.
const MaxVoices = 16

// Voice returns voice i (from 0) of the song: Tones for voice 0 of a
// song of one voice.
func (s Song) Voice(i int) ([]Tone, error) {
	n := max(len(s.Voices), 1)
	if i < 0 || i >= n {
		return nil, fmt.Errorf("sequence: song %q has %d voice(s), no voice %d", s.Name, n, i+1)
	}
	if s.Voices == nil {
		return s.Tones, nil
	}
	return s.Voices[i], nil
}

// Duration is how long Tones plays: the song, or for a song of several
// voices its first (what knock sends without --orchestra); an orchestra
// plays for its longest voice's.
func (s Song) Duration() time.Duration {
	var d time.Duration
	for _, t := range s.Tones {
		d += t.Duration()
	}
	return d
}

// Limits that keep a hostile song file from exhausting memory.
const (
	MaxSongBytes = 1 << 20 // the largest song file ReadSongFile reads
	MaxSongTones = 1 << 20 // the most tones a song may expand to
)

// A SyntaxError is a song that cannot be parsed, with the place of the
// problem: Line and Column count from 1, Column in bytes.
type SyntaxError struct {
	Format  Format
	Line    int
	Column  int
	Problem string
}

// Error is "sequence: FORMAT song, line L, column C: PROBLEM".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("sequence: %s song, line %d, column %d: %s", e.Format, e.Line, e.Column, e.Problem)
}

// syntaxErrorAt builds a SyntaxError for byte offset i of text.
func syntaxErrorAt(format Format, text string, i int, format2 string, args ...any) *SyntaxError {
	i = min(max(i, 0), len(text))
	line := 1 + strings.Count(text[:i], "\n")
	col := i - strings.LastIndexByte(text[:i], '\n')
	return &SyntaxError{Format: format, Line: line, Column: col, Problem: fmt.Sprintf(format2, args...)}
}

// ParseSong parses a song file, choosing the format by the file name's
// extension (.beep or .sh, .rtttl or .rtx, .mml or .play) or, for any other
// name, by the content: beep command lines start with "beep" or an option,
// RTTTL has the "name:settings:notes" shape, anything else is taken as
// MML. The song's name is RTTTL's own, or else the file name without
// directory and extension.
func ParseSong(filename string, data []byte) (Song, error) {
	base := filepath.Base(filename)
	ext := strings.ToLower(filepath.Ext(base))
	name := strings.TrimSuffix(base, filepath.Ext(base))
	text := string(data)
	var format Format
	switch ext {
	case ".beep", ".sh":
		format = FormatBeep
	case ".rtttl", ".rtx":
		format = FormatRTTTL
	case ".mml", ".play":
		format = FormatMML
	default:
		format = DetectFormat(text)
	}
	var song Song
	var err error
	switch format {
	case FormatBeep:
		song.Tones, err = ParseBeep(text)
		song.Format = FormatBeep
	case FormatRTTTL:
		song, err = ParseRTTTL(text)
	default:
		song, err = ParseMML(text)
	}
	if err != nil {
		return Song{}, fmt.Errorf("%s: %w", filename, err)
	}
	if song.Name == "" {
		song.Name = name
	}
	return song, nil
}

// DetectFormat guesses the format of a song from its first line that is
// not blank or a comment.
func DetectFormat(text string) Format {
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		first, _, _ := strings.Cut(line, " ")
		if first == "beep" || strings.HasSuffix(first, "/beep") || line[0] == '-' {
			return FormatBeep
		}
		if name, rest, ok := strings.Cut(line, ":"); ok && !strings.ContainsAny(name, "=,") {
			if settings, _, ok := strings.Cut(rest, ":"); ok && (settings == "" || strings.Contains(settings, "=")) {
				return FormatRTTTL
			}
		}
		return FormatMML
	}
	return FormatMML
}

// ReadSongFile reads and parses a song file of at most MaxSongBytes.
func ReadSongFile(path string) (Song, error) {
	f, err := os.Open(path)
	if err != nil {
		return Song{}, fmt.Errorf("sequence: reading song: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSongBytes+1))
	if err != nil {
		return Song{}, fmt.Errorf("sequence: reading song %s: %w", path, err)
	}
	if len(data) > MaxSongBytes {
		return Song{}, fmt.Errorf("sequence: song %s is larger than %d bytes; songs are small text files", path, MaxSongBytes)
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return Song{}, fmt.Errorf("sequence: song %s is a binary file, not a song in beep, RTTTL or MML text", path)
	}
	return ParseSong(path, data)
}

// appendRest adds a silence to a song: it lengthens the last tone's Delay,
// or starts the song with a tone of Length 0 (as Compile does).
func appendRest(tones []Tone, d time.Duration) []Tone {
	if d <= 0 {
		return tones
	}
	if len(tones) == 0 {
		return append(tones, Tone{Delay: d})
	}
	tones[len(tones)-1].Delay += d
	return tones
}

// hasSound reports whether any tone sounds.
func hasSound(tones []Tone) bool {
	for _, t := range tones {
		if t.Length > 0 && t.Freq > 0 {
			return true
		}
	}
	return false
}

// songText walks song text for the RTTTL and MML parsers: it skips blanks
// and whole lines whose first non-blank byte is '#', which are comments.
type songText struct {
	format Format
	src    string
	i      int
}

// skipSpace moves past blanks, newlines and comment lines.
func (s *songText) skipSpace() {
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			s.i++
		case c == '#' && s.atLineStart():
			if nl := strings.IndexByte(s.src[s.i:], '\n'); nl >= 0 {
				s.i += nl + 1
			} else {
				s.i = len(s.src)
			}
		default:
			return
		}
	}
}

// atLineStart reports whether only blanks precede s.i on its line.
func (s *songText) atLineStart() bool {
	for j := s.i - 1; j >= 0; j-- {
		switch s.src[j] {
		case '\n':
			return true
		case ' ', '\t', '\r':
		default:
			return false
		}
	}
	return true
}

func (s *songText) eof() bool { return s.i >= len(s.src) }

// peek is the next byte, lower-cased, or 0 at the end.
func (s *songText) peek() byte {
	if s.i >= len(s.src) {
		return 0
	}
	c := s.src[s.i]
	if c >= 'A' && c <= 'Z' {
		c += 'a' - 'A'
	}
	return c
}

// number reads decimal digits; ok is false when there are none. Values
// beyond 9999 are reported as 10000 so that range checks catch them.
func (s *songText) number() (n int, ok bool) {
	start := s.i
	for s.i < len(s.src) && isDigit(s.src[s.i]) {
		if n < 10000 {
			n = n*10 + int(s.src[s.i]-'0')
		}
		s.i++
	}
	return min(n, 10000), s.i > start
}

func (s *songText) errorAt(i int, format string, args ...any) error {
	return syntaxErrorAt(s.format, s.src, i, format, args...)
}

// quoteByte shows one byte of input in an error message.
func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}
