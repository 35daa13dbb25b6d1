package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/knockbeep/knockbeep/knock"
)

// OneTime is a knockd one_time_sequences file: one sequence per line, in
// the Sequence syntax. Blank lines, lines starting with '#' and lines that
// are not a valid sequence are skipped (the last with a warning naming the
// line, as knockd skips them silently); the first other line is the
// current sequence. Once it has been knocked, the daemon (package
// source) overwrites the first byte of its line with '#', exactly as
// knockd does, so the file
// stays compatible with knockd and a used sequence is never accepted again
// (knockd's man page advises starting each line with a space, which then
// becomes the '#').
//
// OneTime only reads: it reads the file on every call and keeps no state,
// so an administrator may append sequences while the daemon runs.
type OneTime struct {
	Path string
}

// ErrUsedUp is returned by Current when the file has no sequence left.
var ErrUsedUp = errors.New("no sequences left")

// maxOneTimeFile bounds what is read: a file of sequences is small, and the
// path may name something that is not (a log, a device).
const maxOneTimeFile = 4 << 20

// Current returns the sequence to knock now, with a warning for each line
// before it that was skipped for not being a sequence (a typo there hides
// a sequence the administrator meant to be next). When there is none it
// returns an error wrapping ErrUsedUp; a file that cannot be read gives
// the reading error. Either way the door cannot open until the file
// changes.
func (o OneTime) Current() (steps []knock.Step, warnings []string, err error) {
	data, err := o.read()
	if err != nil {
		return nil, nil, err
	}
	_, steps, ok, invalid := firstSequence(data, nil)
	for _, l := range invalid {
		warnings = append(warnings, fmt.Sprintf("config: one_time_sequences %s: line %d skipped: %v: fix or remove it", o.Path, l.line, l.err))
	}
	if ok {
		return steps, warnings, nil
	}
	return nil, warnings, fmt.Errorf("config: one_time_sequences %s: %w (every line is used or invalid): add new sequences to the file, then reload", o.Path, ErrUsedUp)
}

// Locate returns the offset in the file of the line holding used, the
// sequence just knocked: the first unused line equal to it, as knockd
// looks it up, so it stays right when lines were added or marked since
// used was read. The daemon's one-time source writes the '#' there;
// reading a config never writes.
func (o OneTime) Locate(used []knock.Step) (int, error) {
	data, err := o.read()
	if err != nil {
		return 0, err
	}
	offset, _, ok, _ := firstSequence(data, used)
	if !ok {
		return 0, fmt.Errorf("config: one_time_sequences %s: the used sequence is no longer in the file: was it edited?", o.Path)
	}
	return offset, nil
}

func (o OneTime) read() ([]byte, error) {
	// Stat before opening: opening a FIFO would block the daemon.
	fi, err := os.Stat(o.Path)
	if err != nil {
		return nil, fmt.Errorf("config: one_time_sequences: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("config: one_time_sequences %s: not a regular file", o.Path)
	}
	f, err := os.Open(o.Path)
	if err != nil {
		return nil, fmt.Errorf("config: one_time_sequences: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxOneTimeFile+1))
	if err != nil {
		return nil, fmt.Errorf("config: one_time_sequences: %w", err)
	}
	if len(data) > maxOneTimeFile {
		return nil, fmt.Errorf("config: one_time_sequences %s: larger than %d MiB: is this the right file?", o.Path, maxOneTimeFile>>20)
	}
	return data, nil
}

// An invalidLine is a line of a one-time file that is not a sequence.
type invalidLine struct {
	line int // from 1
	err  error
}

// firstSequence finds the first valid, unused line of a one-time file, or
// with want the first one equal to want; it returns the line's offset and
// the lines before it that are not sequences.
func firstSequence(data []byte, want []knock.Step) (offset int, steps []knock.Step, ok bool, invalid []invalidLine) {
	for n := 1; offset < len(data); n++ {
		line := data[offset:]
		end := len(line)
		if i := slices.Index(line, '\n'); i >= 0 {
			end = i + 1
		}
		text := strings.TrimSpace(string(line[:end]))
		if text != "" && text[0] != '#' {
			steps, err := parseSequence(text)
			if err != nil {
				invalid = append(invalid, invalidLine{n, err})
			} else if want == nil || slices.Equal(steps, want) {
				return offset, steps, true, invalid
			}
		}
		offset += end
	}
	return 0, nil, false, invalid
}
