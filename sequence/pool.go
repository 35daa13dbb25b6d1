package sequence

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// StepKind says whether a pool step sounds.
type StepKind uint8

const (
	StepTone    StepKind = iota + 1 // the speaker sounds PoolStep.Freq for PoolStep.Length
	StepSilence                     // the speaker is silent for PoolStep.Length
)

// String is the step's keyword in a pool file: "tone" or "silence" (or
// "step(N)" for any other value).
func (k StepKind) String() string {
	switch k {
	case StepTone:
		return "tone"
	case StepSilence:
		return "silence"
	}
	return "step(" + strconv.Itoa(int(k)) + ")"
}

// A PoolStep is one knock's worth of music in a pool: a tone or a silence
// and its length. (knock.Step is something else: one port of a door's
// sequence.)
type PoolStep struct {
	Kind   StepKind
	Freq   float64 // hertz, tones only; 0 for silences
	Length time.Duration
}

// Limits on what a pool step may hold. They keep a pool line short (see
// maxPoolLine) and every value playable by beep.
const (
	MaxStepLength = 5 * time.Minute // beep's 300000 ms cap on one tone
	MaxFreq       = 20000.0         // beep's upper limit, in hertz
)

// MaxPlanSteps is the most steps one plan may put in a pool (Compose
// refuses a longer song), and so what LoadPool and ReadPool read by default
// (PoolOptions.MaxPoolSteps 0): about 29 hours of 100 ms steps, 24 MiB in
// memory.
const MaxPlanSteps = 1 << 20

// PoolHeader is the first line of every pool file; the number after "v" is
// the format version.
const PoolHeader = "# knockbeep music pool v1"

// maxPoolLine bounds one line of a pool file, newline included. The longest
// line AppendPoolLine writes is about 45 bytes ("tone " + a 17-digit frequency + " "
// + "4m59.999999999s").
const maxPoolLine = 64

// ErrPoolFull is wrapped by the errors of LoadPool and ReadPool when a pool
// holds more than PoolOptions.MaxPoolSteps steps.
var ErrPoolFull = errors.New("sequence: music pool is full")

// PoolOptions configure LoadPool and ReadPool.
type PoolOptions struct {
	// MaxPoolSteps is the most steps a pool may hold; 0 means
	// MaxPlanSteps. The input read is limited accordingly, to
	// MaxPoolSteps lines of at most 64 bytes each plus the header, so
	// that a huge or hostile file costs no more memory than the steps
	// allowed.
	MaxPoolSteps int
}

func (o PoolOptions) maxPoolSteps() int {
	if o.MaxPoolSteps <= 0 {
		return MaxPlanSteps
	}
	return o.MaxPoolSteps
}

func (o PoolOptions) maxBytes() int64 {
	return int64(o.maxPoolSteps())*maxPoolLine + int64(len(PoolHeader)) + 1
}

// Validate reports whether s can be stored in a pool and played.
func (s PoolStep) Validate() error {
	if err := s.validate(); err != nil {
		return fmt.Errorf("sequence: %w", err)
	}
	return nil
}

func (s PoolStep) validate() error {
	if s.Length <= 0 || s.Length > MaxStepLength {
		return fmt.Errorf("step length %v out of range: want more than 0 and at most %v", s.Length, MaxStepLength)
	}
	switch s.Kind {
	case StepTone:
		if !(s.Freq > 0 && s.Freq <= MaxFreq) {
			return fmt.Errorf("tone frequency %v Hz out of range: want more than 0 and at most %v", s.Freq, MaxFreq)
		}
	case StepSilence:
		if s.Freq != 0 {
			return fmt.Errorf("a silence has no frequency, got %v Hz", s.Freq)
		}
	default:
		return fmt.Errorf("unknown step kind %d", s.Kind)
	}
	return nil
}

// AppendPoolLine appends the pool file line for s, newline included, to b:
// the one write the owner of a pool file makes per step. s must be valid
// (Validate); the line is then at most 64 bytes.
func (s PoolStep) AppendPoolLine(b []byte) []byte {
	if s.Kind == StepTone {
		b = append(b, "tone "...)
		b = strconv.AppendFloat(b, s.Freq, 'f', -1, 64)
		b = append(b, ' ')
	} else {
		b = append(b, "silence "...)
	}
	b = append(b, s.Length.String()...)
	return append(b, '\n')
}

// maxStepFields is one more than any step line has, so that extra fields
// are noticed.
const maxStepFields = 4

// splitFields splits a line at blanks into at most maxStepFields fields
// without allocating; n is how many it found.
func splitFields(line []byte) (fields [maxStepFields][]byte, n int) {
	i := 0
	for n < maxStepFields {
		for i < len(line) && isBlank(line[i]) {
			i++
		}
		if i == len(line) {
			break
		}
		start := i
		for i < len(line) && !isBlank(line[i]) {
			i++
		}
		fields[n] = line[start:i]
		n++
	}
	return fields, n
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' }

// parseStepLine parses one pool line without its newline. Comment and
// blank lines give ok == false and no error.
func parseStepLine(line []byte) (s PoolStep, ok bool, err error) {
	fields, n := splitFields(line)
	if n == 0 || fields[0][0] == '#' {
		return PoolStep{}, false, nil
	}
	var length []byte
	switch string(fields[0]) {
	case "tone":
		if n != 3 {
			return PoolStep{}, false, fmt.Errorf("want \"tone HZ LENGTH\", like \"tone 440 100ms\"")
		}
		f, err := strconv.ParseFloat(string(fields[1]), 64)
		if err != nil {
			return PoolStep{}, false, fmt.Errorf("frequency %q is not a number", fields[1])
		}
		s = PoolStep{Kind: StepTone, Freq: f}
		length = fields[2]
	case "silence":
		if n != 2 {
			return PoolStep{}, false, fmt.Errorf("want \"silence LENGTH\", like \"silence 100ms\"")
		}
		s = PoolStep{Kind: StepSilence}
		length = fields[1]
	default:
		return PoolStep{}, false, fmt.Errorf("unknown step %q: want \"tone\" or \"silence\"", fields[0])
	}
	d, err := time.ParseDuration(string(length))
	if err != nil {
		return PoolStep{}, false, fmt.Errorf("length %q is not a duration like 100ms", length)
	}
	s.Length = d
	if err := s.validate(); err != nil {
		return PoolStep{}, false, err
	}
	return s, true, nil
}

// maxParsedLines bounds the cache of parsed lines in ReadPool: a pool
// written by knockbeep has a few hundred distinct lines at most.
const maxParsedLines = 4096

// LoadPool reads a pool file. A last line without its newline is what a
// crash in the middle of an append leaves behind: it is dropped with a
// warning, whatever it holds. Any other bad line is an error naming its line
// number. A pool over the size limit is an error wrapping ErrPoolFull.
func LoadPool(r io.Reader, opts PoolOptions) (steps []PoolStep, warnings []string, err error) {
	var size int64
	if sized, ok := r.(interface{ Len() int }); ok { // bytes.Reader, strings.Reader, bytes.Buffer
		size = int64(sized.Len())
	}
	steps, warnings, _, err = ReadPool(r, size, opts)
	return steps, warnings, err
}

// ReadPool is LoadPool for the owner of a pool file that goes on appending
// to it: it also returns how many bytes of the input end in a complete line
// (good), the length to truncate the file to so that the next line starts
// on a line of its own. size, when known (else 0), lets it allocate the
// steps about once.
func ReadPool(r io.Reader, size int64, opts PoolOptions) (steps []PoolStep, warnings []string, good int64, err error) {
	maxPoolSteps, maxBytes := opts.maxPoolSteps(), opts.maxBytes()
	br := bufio.NewReaderSize(io.LimitReader(r, maxBytes+1), 64<<10)
	var total int64
	parsed := make(map[string]PoolStep)
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return steps, warnings, good, fmt.Errorf("sequence: pool line %d: longer than %d bytes; this is not a pool file written by knockbeep", lineNo, maxPoolLine)
		}
		total += int64(len(line))
		if total > maxBytes {
			return steps, warnings, good, fmt.Errorf("%w: the pool is larger than %d bytes, the limit for %d steps", ErrPoolFull, maxBytes, maxPoolSteps)
		}
		if err == io.EOF {
			if len(line) > 0 {
				warnings = append(warnings, fmt.Sprintf("pool line %d: ignoring an incomplete last line %q (no newline: a write was cut short)", lineNo, truncateForMessage(line)))
			}
			return steps, warnings, good, nil
		}
		if err != nil {
			return steps, warnings, good, fmt.Errorf("sequence: reading pool line %d: %w", lineNo, err)
		}
		if len(line) > maxPoolLine {
			return steps, warnings, good, fmt.Errorf("sequence: pool line %d: longer than %d bytes; this is not a pool file written by knockbeep", lineNo, maxPoolLine)
		}
		text := line[:len(line)-1]
		if lineNo == 1 {
			if err := checkPoolHeader(text); err != nil {
				return steps, warnings, good, err
			}
			good = total
			continue
		}
		// A pool repeats a few lines many times (one per pitch in use, one
		// for silence): parse each distinct line once.
		s, seen := parsed[string(text)]
		ok := seen
		if !seen {
			s, ok, err = parseStepLine(text)
			if err != nil {
				return steps, warnings, good, fmt.Errorf("sequence: pool line %d: %w", lineNo, err)
			}
			if ok && len(parsed) < maxParsedLines {
				parsed[string(text)] = s
			}
		}
		good = total
		if !ok {
			continue
		}
		if len(steps) >= maxPoolSteps {
			return steps, warnings, good, fmt.Errorf("%w: pool line %d: more than %d steps", ErrPoolFull, lineNo, maxPoolSteps)
		}
		if len(steps) == cap(steps) {
			steps = growSteps(steps, lineNo, total, size, maxPoolSteps)
		}
		steps = append(steps, s)
	}
}

// growSteps makes room for more steps. When the input's size is known it
// reserves what the rest of the input holds, judging by the lines so far,
// so that a million-step pool is not copied over and over as it grows.
func growSteps(steps []PoolStep, lines int, read, size int64, maxPoolSteps int) []PoolStep {
	want := 2*len(steps) + 64
	if size > read && len(steps) > 0 { // judge by steps, not just the header
		perLine := max(read/int64(lines), 1)
		want = max(want, len(steps)+int((size-read)/perLine*9/8)+64)
	}
	want = min(want, maxPoolSteps)
	grown := make([]PoolStep, len(steps), want)
	copy(grown, steps)
	return grown
}

func checkPoolHeader(line []byte) error {
	const prefix = "# knockbeep music pool v"
	text := string(bytes.TrimRight(line, " \t\r"))
	if text == PoolHeader {
		return nil
	}
	if len(text) > len(prefix) && text[:len(prefix)] == prefix {
		return fmt.Errorf("sequence: pool line 1: format version %q is not supported; this program reads %q", text[len(prefix)-1:], PoolHeader)
	}
	return fmt.Errorf("sequence: pool line 1: %q is not a knockbeep pool header; want %q", truncateForMessage(line), PoolHeader)
}

func truncateForMessage(b []byte) string {
	const max = 40
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}

// WritePool writes a pool file holding steps: the header, then one line
// per step, as the music doors append them.
func WritePool(w io.Writer, steps []PoolStep) error {
	b := []byte(PoolHeader + "\n")
	for i, s := range steps {
		if err := s.validate(); err != nil {
			return fmt.Errorf("sequence: pool step %d: %w", i+1, err)
		}
		b = s.AppendPoolLine(b)
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("sequence: writing a pool: %w", err)
	}
	return nil
}
