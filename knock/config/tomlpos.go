package config

import (
	"slices"
	"strconv"
	"strings"
)

// BurntSushi/toml keeps the position of every key but does not export it,
// and it files the keys of all [[door]] tables under one name, so it cannot
// say which door a key belongs to. keyIndex recovers both by scanning the
// (already validated) TOML text once more, looking only at its structure:
// table headers, keys, and enough of each value to skip it.

// A keyPos is where one key (or table header) of the document is.
type keyPos struct {
	path []string // the key's full path, without array indices
	door int      // index of the [[door]] table it is in, or -1
	line int
}

// A keyIndex holds the keys of a document in order, with lookups by
// (door, path) and by first path element, so that finding lines stays
// linear in the size of the document.
type keyIndex struct {
	keys   []keyPos
	first  map[keyRef]int   // line of the first key at (door, path)
	byHead map[string][]int // indices into keys, by path[0]
}

type keyRef struct {
	door int
	path string // the path's parts joined by NUL
}

func newKeyIndex(keys []keyPos) keyIndex {
	ix := keyIndex{keys: keys, first: map[keyRef]int{}, byHead: map[string][]int{}}
	for i, k := range keys {
		ref := keyRef{k.door, strings.Join(k.path, "\x00")}
		if _, seen := ix.first[ref]; !seen {
			ix.first[ref] = k.line
		}
		if len(k.path) > 0 {
			ix.byHead[k.path[0]] = append(ix.byHead[k.path[0]], i)
		}
	}
	return ix
}

// line returns the line of path inside door (-1 outside any door), or of
// its closest enclosing key or table when the path itself is not written
// (a default, or a key inside an inline table), or 0.
func (ix keyIndex) line(door int, path ...string) int {
	for n := len(path); n > 0; n-- {
		if line := ix.exactLine(door, path[:n]...); line > 0 {
			return line
		}
	}
	return 0
}

// exactLine returns the line of path inside door, or 0 when it is not written.
func (ix keyIndex) exactLine(door int, path ...string) int {
	return ix.first[keyRef{door, strings.Join(path, "\x00")}]
}

// under returns the keys at path or below it, in document order.
func (ix keyIndex) under(path []string) []keyPos {
	var out []keyPos
	if len(path) == 0 {
		return nil
	}
	for _, i := range ix.byHead[path[0]] {
		k := ix.keys[i]
		if len(k.path) >= len(path) && slices.Equal(k.path[:len(path)], path) {
			out = append(out, k)
		}
	}
	return out
}

// scanKeys indexes the keys of a TOML document that has already parsed.
// On text that is not valid TOML it still ends, with a partial index.
func scanKeys(text string) keyIndex {
	s := &keyScanner{text: text, line: 1}
	var table []string
	door, doors := -1, 0
	for s.pos < len(s.text) {
		s.skipBlank()
		if s.pos >= len(s.text) {
			break
		}
		switch c := s.text[s.pos]; {
		case c == '\n':
			s.line++
			s.pos++
		case c == '#':
			s.skipComment()
		case c == '[':
			line := s.line
			array := strings.HasPrefix(s.text[s.pos:], "[[")
			if array {
				s.pos += 2
			} else {
				s.pos++
			}
			table = s.key()
			s.skipBlank()
			s.skipPast(']')
			if array {
				s.skipPast(']')
			}
			switch {
			case array && slices.Equal(table, []string{"door"}):
				door = doors
				doors++
			case len(table) > 0 && table[0] == "door":
				// [door.x] belongs to the last [[door]], if any.
			default:
				door = -1
			}
			s.keys = append(s.keys, keyPos{path: table, door: door, line: line})
		case isBareKeyChar(c) || c == '"' || c == '\'':
			line := s.line
			k := s.key()
			s.skipBlank()
			if s.pos < len(s.text) && s.text[s.pos] == '=' {
				s.pos++
			}
			s.keys = append(s.keys, keyPos{path: append(slices.Clip(table), k...), door: door, line: line})
			s.value()
		default:
			s.pos++ // not TOML here; step over it rather than stop
		}
	}
	return newKeyIndex(s.keys)
}

type keyScanner struct {
	text string
	pos  int
	line int
	keys []keyPos
}

func (s *keyScanner) skipBlank() {
	for s.pos < len(s.text) && (s.text[s.pos] == ' ' || s.text[s.pos] == '\t' || s.text[s.pos] == '\r') {
		s.pos++
	}
}

// skipSpace skips blanks, newlines and comments, as between array items.
func (s *keyScanner) skipSpace() {
	for s.pos < len(s.text) {
		switch s.text[s.pos] {
		case ' ', '\t', '\r':
			s.pos++
		case '\n':
			s.line++
			s.pos++
		case '#':
			s.skipComment()
		default:
			return
		}
	}
}

func (s *keyScanner) skipComment() {
	for s.pos < len(s.text) && s.text[s.pos] != '\n' {
		s.pos++
	}
}

func (s *keyScanner) skipPast(c byte) {
	s.skipBlank()
	if s.pos < len(s.text) && s.text[s.pos] == c {
		s.pos++
	}
}

func isBareKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// key reads a dotted key: bare, "basic" or 'literal' parts.
func (s *keyScanner) key() []string {
	var parts []string
	for {
		s.skipBlank()
		if s.pos >= len(s.text) {
			return parts
		}
		switch c := s.text[s.pos]; {
		case c == '"':
			start := s.pos
			s.basicString()
			raw := s.text[start:s.pos]
			if v, err := strconv.Unquote(raw); err == nil {
				parts = append(parts, v)
			} else {
				parts = append(parts, strings.Trim(raw, `"`))
			}
		case c == '\'':
			start := s.pos + 1
			s.literalString()
			parts = append(parts, strings.TrimSuffix(s.text[start:s.pos], "'"))
		default:
			start := s.pos
			for s.pos < len(s.text) && isBareKeyChar(s.text[s.pos]) {
				s.pos++
			}
			if s.pos == start {
				return parts
			}
			parts = append(parts, s.text[start:s.pos])
		}
		s.skipBlank()
		if s.pos >= len(s.text) || s.text[s.pos] != '.' {
			return parts
		}
		s.pos++
	}
}

// value skips one value, counting the newlines inside it.
func (s *keyScanner) value() {
	s.skipBlank()
	if s.pos >= len(s.text) {
		return
	}
	switch s.text[s.pos] {
	case '"':
		if strings.HasPrefix(s.text[s.pos:], `"""`) {
			s.multiline(`"""`, true)
		} else {
			s.basicString()
		}
	case '\'':
		if strings.HasPrefix(s.text[s.pos:], `'''`) {
			s.multiline(`'''`, false)
		} else {
			s.literalString()
		}
	case '[':
		s.items(']', s.value)
	case '{':
		s.items('}', s.inlineEntry)
	default:
		// A number, boolean or date: up to the end of the value.
		for s.pos < len(s.text) && !strings.ContainsRune(",]}\n#", rune(s.text[s.pos])) {
			s.pos++
		}
	}
}

// items skips the items of an array or inline table up to and including
// close, calling item for each; a character nothing consumes is skipped,
// so malformed text cannot stall the scanner.
func (s *keyScanner) items(close byte, item func()) {
	s.pos++
	for {
		s.skipSpace()
		if s.pos >= len(s.text) {
			return
		}
		if s.text[s.pos] == close {
			s.pos++
			return
		}
		before := s.pos
		item()
		s.skipSpace()
		if s.pos < len(s.text) && s.text[s.pos] == ',' {
			s.pos++
		} else if s.pos == before {
			s.pos++
		}
	}
}

// inlineEntry skips one "key = value" of an inline table.
func (s *keyScanner) inlineEntry() {
	s.key()
	s.skipBlank()
	if s.pos < len(s.text) && s.text[s.pos] == '=' {
		s.pos++
	}
	s.value()
}

// basicString skips "...", honouring backslash escapes.
func (s *keyScanner) basicString() {
	s.pos++
	for s.pos < len(s.text) {
		switch s.text[s.pos] {
		case '\\':
			s.pos += 2
		case '"':
			s.pos++
			return
		case '\n':
			return // not valid TOML; keep the line count right
		default:
			s.pos++
		}
	}
	s.pos = min(s.pos, len(s.text))
}

// literalString skips '...'.
func (s *keyScanner) literalString() {
	s.pos++
	for s.pos < len(s.text) {
		switch s.text[s.pos] {
		case '\'':
			s.pos++
			return
		case '\n':
			return
		}
		s.pos++
	}
}

// multiline skips a """...""" or ”'...”' string. The closing delimiter
// may be followed by up to two more quotes that belong to the content.
func (s *keyScanner) multiline(delim string, escapes bool) {
	s.pos += len(delim)
	for s.pos < len(s.text) {
		switch {
		case escapes && s.text[s.pos] == '\\':
			if s.pos+1 < len(s.text) && s.text[s.pos+1] == '\n' {
				s.line++
			}
			s.pos += 2
		case strings.HasPrefix(s.text[s.pos:], delim):
			s.pos += len(delim)
			for extra := 0; extra < 2 && s.pos < len(s.text) && s.text[s.pos] == delim[0]; extra++ {
				s.pos++
			}
			return
		default:
			if s.text[s.pos] == '\n' {
				s.line++
			}
			s.pos++
		}
	}
	s.pos = min(s.pos, len(s.text))
}
