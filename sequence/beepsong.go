package sequence

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// ParseBeep parses a song written as beep command lines, the way users
// copy them from scripts and dotfiles:
//
//	# The Imperial March
//	beep -l 350 -f 392 -D 100 -n -l 350 -f 392 -D 100 \
//	     -n -l 250 -f 311.1 -D 100
//
// Each command is its own beep run; runs play one after another. A command
// ends at a newline, ";" or "&&"; a backslash before a newline continues
// it. The program name ("beep", or a path ending in "/beep") is optional.
// Words are split as a shell would: blanks separate them, '...' and "..."
// quote, a backslash escapes the next byte, and "#" starting a word
// comments out the rest of the line. Other shell syntax (pipes,
// redirections, variables) is an error.
//
// Every tone flag of beep 1.4 works as in ParseBeepArgs. -e/--device and
// --verbose/--debug are accepted and ignored: the player chooses the
// speaker. -s, -c, -h and -v are errors, since a song has no input to
// follow and plays rather than prints.
func ParseBeep(text string) ([]Tone, error) {
	words, err := splitBeepWords(text)
	if err != nil {
		return nil, err
	}
	var tones []Tone
	commands := 0
	for len(words) > 0 {
		end := 0
		for end < len(words) && !words[end].separator {
			end++
		}
		command := words[:end]
		words = words[min(end+1, len(words)):]
		if len(command) == 0 {
			continue
		}
		if name := command[0].text; name == "beep" || path.Base(name) == "beep" && strings.Contains(name, "/") {
			command = command[1:]
		}
		commands++
		tones, err = appendBeepCommand(tones, command, text)
		if err != nil {
			return nil, err
		}
	}
	if commands == 0 {
		return nil, &SyntaxError{Format: FormatBeep, Line: 1, Column: 1, Problem: "no beep command found: write one like \"beep -f 440 -l 200\""}
	}
	return tones, nil
}

// appendBeepCommand parses one beep run and adds its tones.
func appendBeepCommand(tones []Tone, words []beepWord, text string) ([]Tone, error) {
	args := make([]string, len(words))
	for i, w := range words {
		args[i] = w.text
	}
	cmd, err := ParseBeepArgs(args)
	if err != nil {
		var usage *BeepUsageError
		if errors.As(err, &usage) {
			return nil, syntaxErrorAt(FormatBeep, text, words[usage.Index].offset, "%s: %s", quoteArg(usage.Arg), usage.Problem)
		}
		return nil, err
	}
	firstWord := 0
	if len(words) > 0 {
		firstWord = words[0].offset
	}
	switch {
	case cmd.Help:
		return nil, syntaxErrorAt(FormatBeep, text, firstWord, "-h/--help prints beep's usage and plays nothing; remove it from the song")
	case cmd.Version:
		return nil, syntaxErrorAt(FormatBeep, text, firstWord, "-v/--version prints beep's version and plays nothing; remove it from the song")
	}
	for _, n := range cmd.Notes {
		if n.Stdin != StdinNone {
			return nil, syntaxErrorAt(FormatBeep, text, firstWord, "-s and -c beep for each line or character of input, which a song does not have; remove them")
		}
	}
	if len(tones)+cmd.toneCount() > MaxSongTones {
		return nil, syntaxErrorAt(FormatBeep, text, firstWord, "the song grows beyond %d tones; check the -r repetitions", MaxSongTones)
	}
	for _, n := range cmd.Notes {
		tones = n.appendTones(tones)
	}
	return tones, nil
}

func quoteArg(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n\"'\\") {
		return s
	}
	return fmt.Sprintf("%q", s)
}

// A beepWord is a shell word of a beep song, or the end of a command.
type beepWord struct {
	text      string
	offset    int // of the word's first byte in the song
	separator bool
}

// splitBeepWords splits song text into words and command separators as a
// POSIX shell would, for the little shell syntax beep scripts use.
func splitBeepWords(text string) ([]beepWord, error) {
	var words []beepWord
	var cur strings.Builder
	inWord := false
	start := 0
	endWord := func() {
		if inWord {
			words = append(words, beepWord{text: cur.String(), offset: start})
			cur.Reset()
			inWord = false
		}
	}
	begin := func(i int) {
		if !inWord {
			inWord, start = true, i
		}
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '\n' || c == ';':
			endWord()
			words = append(words, beepWord{offset: i, separator: true})
		case c == ' ' || c == '\t' || c == '\r':
			endWord()
		case c == '#' && !inWord:
			for i+1 < len(text) && text[i+1] != '\n' {
				i++
			}
		case c == '\\':
			if i+1 < len(text) && text[i+1] == '\n' {
				i++ // line continuation
				continue
			}
			if i+2 < len(text) && text[i+1] == '\r' && text[i+2] == '\n' {
				i += 2
				continue
			}
			begin(i)
			if i+1 < len(text) {
				i++
				cur.WriteByte(text[i])
			}
		case c == '\'':
			begin(i)
			end := strings.IndexByte(text[i+1:], '\'')
			if end < 0 {
				return nil, syntaxErrorAt(FormatBeep, text, i, "this quote ' is never closed")
			}
			cur.WriteString(text[i+1 : i+1+end])
			i += 1 + end
		case c == '"':
			begin(i)
			j := i + 1
			for ; j < len(text) && text[j] != '"'; j++ {
				if text[j] == '\\' && j+1 < len(text) && strings.IndexByte("$`\"\\\n", text[j+1]) >= 0 {
					j++
					if text[j] == '\n' {
						continue
					}
				} else if text[j] == '$' || text[j] == '`' {
					return nil, syntaxErrorAt(FormatBeep, text, j, "shell expansion %q is not supported in a song file; write the value itself", text[j:j+1])
				}
				cur.WriteByte(text[j])
			}
			if j >= len(text) {
				return nil, syntaxErrorAt(FormatBeep, text, i, "this quote \" is never closed")
			}
			i = j
		case c == '&' && i+1 < len(text) && text[i+1] == '&':
			endWord()
			words = append(words, beepWord{offset: i, separator: true})
			i++
		case strings.IndexByte("|&<>()$`{}", c) >= 0:
			return nil, syntaxErrorAt(FormatBeep, text, i, "shell syntax %q is not supported in a song file; only beep commands, \\, ; and && are", text[i:i+1])
		default:
			begin(i)
			cur.WriteByte(c)
		}
	}
	endWord()
	return words, nil
}
