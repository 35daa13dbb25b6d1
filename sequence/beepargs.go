package sequence

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// StdinMode says whether a beep tone waits for standard input.
type StdinMode uint8

const (
	StdinNone StdinMode = iota // play once
	StdinLine                  // -s: copy stdin to stdout, play once per line
	StdinChar                  // -c: copy stdin to stdout, play once per byte (newlines count)
)

// beep 1.4's defaults for a tone (beep-config.h).
const (
	BeepDefaultFreq   = 440.0
	BeepDefaultLength = 200 * time.Millisecond
	BeepDefaultReps   = 1
	BeepDefaultDelay  = 100 * time.Millisecond
)

// A BeepNote is one tone of a beep command line: the flags between two -n.
type BeepNote struct {
	// Freq is the frequency beep plays, in whole hertz: beep reads -f as a
	// float and rounds it half up. 0 means unset, which plays 440 Hz.
	Freq   float64
	Length time.Duration // -l
	Reps   int           // -r; 0 plays nothing
	// Delay is the silence between repetitions (-d or -D, whichever came
	// last: both set it), and after the last one too when DelayAfterLast
	// (-D).
	Delay          time.Duration
	DelayAfterLast bool
	Stdin          StdinMode // -s or -c
}

// DefaultBeepNote is the tone beep plays with no flags, and what every -n
// starts from.
func DefaultBeepNote() BeepNote {
	return BeepNote{Length: BeepDefaultLength, Reps: BeepDefaultReps, Delay: BeepDefaultDelay}
}

// A BeepCommand is a parsed beep 1.4 command line.
type BeepCommand struct {
	Notes    []BeepNote // at least one
	Device   string     // -e/--device, "" when not given
	Verbose  bool       // --verbose or --debug given at least once
	Help     bool       // -h/--help: beep prints its usage and exits 0, playing nothing
	Version  bool       // -v/-V/--version: beep prints its version and exits 0
	Warnings []string   // what beep would warn about, like repeated -f
}

// A BeepUsageError is a beep command line that beep 1.4 refuses: it prints
// its usage (when Usage is true) and exits with status 1.
type BeepUsageError struct {
	Index   int    // the offending argument's index in args
	Arg     string // that argument
	Problem string
	Usage   bool // beep 1.4 prints its usage text for this error
}

// Error names the argument by its place (counting from 1) and its text.
func (e *BeepUsageError) Error() string {
	return fmt.Sprintf("sequence: beep argument %d %q: %s", e.Index+1, e.Arg, e.Problem)
}

// beepLongOptions are beep 1.4's long options, mapped to the short option
// each stands for ('X' is --verbose/--debug, which has none).
var beepLongOptions = []struct {
	name     string
	short    byte
	hasValue bool
}{
	{"help", 'h', false},
	{"version", 'V', false},
	{"new", 'n', false},
	{"verbose", 'X', false},
	{"debug", 'X', false},
	{"device", 'e', true},
}

// beepShortWithValue lists the short options that take a value, as in
// beep's getopt string "f:l:r:d:D:schvVne:".
const (
	beepShortWithValue = "flrdDe"
	beepShortFlags     = "schvVn"
)

// ParseBeepArgs parses a beep 1.4 command line, args without the program
// name, exactly as beep does with getopt_long: short options may be grouped
// and take their value attached or as the next argument ("-f440", "-nf 440"),
// long options may be abbreviated while unambiguous and take "=VALUE" or
// the next argument, "--" ends the options, and options and operands may be
// mixed, but any operand is an error.
//
// Like beep, it stops at -h or -v (returning Help or Version set and no
// error) and at the first bad argument (returning a *BeepUsageError).
// Numbers are read as beep's sscanf reads them: leading blanks and a sign
// are allowed and text after the number is ignored (with a warning here).
// Unlike beep, a number too large for 32 bits is an error rather than
// wrapping around.
func ParseBeepArgs(args []string) (BeepCommand, error) {
	p := beepArgParser{cmd: BeepCommand{Notes: []BeepNote{DefaultBeepNote()}}}
	operand := -1
	for i := 0; i < len(args) && !p.stop; i++ {
		arg := args[i]
		switch {
		case arg == "--":
			if i+1 < len(args) && operand < 0 {
				operand = i + 1
			}
			i = len(args)
		case strings.HasPrefix(arg, "--"):
			next, err := p.long(args, i)
			if err != nil {
				return p.cmd, err
			}
			i = next
		case len(arg) > 1 && arg[0] == '-':
			next, err := p.shorts(args, i)
			if err != nil {
				return p.cmd, err
			}
			i = next
		default:
			if operand < 0 {
				operand = i
			}
		}
	}
	if !p.stop && operand >= 0 {
		return p.cmd, &BeepUsageError{Index: operand, Arg: args[operand], Usage: true,
			Problem: "non-option arguments left on command line (beep takes only options)"}
	}
	return p.cmd, nil
}

type beepArgParser struct {
	cmd       BeepCommand
	deviceSet bool
	stop      bool // -h or -v seen
}

// shorts handles a group of short options in args[i]; it returns the index
// of the last argument it used.
func (p *beepArgParser) shorts(args []string, i int) (int, error) {
	arg := args[i]
	for j := 1; j < len(arg) && !p.stop; j++ {
		c := arg[j]
		switch {
		case strings.IndexByte(beepShortWithValue, c) >= 0:
			value := arg[j+1:]
			if value == "" {
				if i+1 >= len(args) {
					return i, &BeepUsageError{Index: i, Arg: arg, Usage: true,
						Problem: fmt.Sprintf("option requires an argument -- '%c'", c)}
				}
				i++
				value = args[i]
			}
			return i, p.apply(c, "-"+string(c), value, i, args[i])
		case strings.IndexByte(beepShortFlags, c) >= 0:
			if err := p.apply(c, "-"+string(c), "", i, arg); err != nil {
				return i, err
			}
		default:
			return i, &BeepUsageError{Index: i, Arg: arg, Usage: true,
				Problem: fmt.Sprintf("invalid option -- %q", arg[j:j+1])}
		}
	}
	return i, nil
}

// long handles the long option in args[i].
func (p *beepArgParser) long(args []string, i int) (int, error) {
	arg := args[i]
	name, value, hasValue := strings.Cut(arg[2:], "=")
	match := -1
	var candidates []string
	for k, o := range beepLongOptions {
		if o.name == name {
			match, candidates = k, nil
			break
		}
		if name != "" && strings.HasPrefix(o.name, name) {
			candidates = append(candidates, "--"+o.name)
			match = k
		}
	}
	switch {
	case len(candidates) > 1:
		return i, &BeepUsageError{Index: i, Arg: arg, Usage: true,
			Problem: fmt.Sprintf("option '--%s' is ambiguous; possibilities: %s", name, strings.Join(candidates, " "))}
	case match < 0:
		return i, &BeepUsageError{Index: i, Arg: arg, Usage: true,
			Problem: fmt.Sprintf("unrecognized option '--%s'", name)}
	}
	o := beepLongOptions[match]
	if !o.hasValue {
		if hasValue {
			return i, &BeepUsageError{Index: i, Arg: arg, Usage: true,
				Problem: fmt.Sprintf("option '--%s' doesn't allow an argument", o.name)}
		}
		return i, p.apply(o.short, "--"+o.name, "", i, arg)
	}
	if !hasValue {
		if i+1 >= len(args) {
			return i, &BeepUsageError{Index: i, Arg: arg, Usage: true,
				Problem: fmt.Sprintf("option '--%s' requires an argument", o.name)}
		}
		i++
		value = args[i]
	}
	return i, p.apply(o.short, "--"+o.name, value, i, args[i])
}

// apply carries out one option; index and arg name the argument holding
// its value (or the option itself), for errors.
func (p *beepArgParser) apply(c byte, option, value string, index int, arg string) error {
	note := &p.cmd.Notes[len(p.cmd.Notes)-1]
	bad := func(problem string) error {
		return &BeepUsageError{Index: index, Arg: arg, Usage: true, Problem: option + " " + problem}
	}
	switch c {
	case 'f':
		f, rest, ok := scanFloat32(value)
		if !ok {
			return bad(fmt.Sprintf("%q is not a frequency in hertz", value))
		}
		if !(f >= 0 && f <= beepMaxFreq) {
			return bad(fmt.Sprintf("%q is out of range: want 0 to 20000 Hz", value))
		}
		p.warnTrailing(option, value, rest)
		if note.Freq != 0 {
			p.cmd.Warnings = append(p.cmd.Warnings, fmt.Sprintf("%s %s: multiple -f values given, only last one is used", option, value))
		}
		note.Freq = beepRoundFreq(f)
	case 'l', 'r', 'd', 'D':
		n, rest, ok := scanUint(value)
		if !ok {
			return bad(fmt.Sprintf("%q is not a whole number", value))
		}
		if n > beepMaxMillis {
			return bad(fmt.Sprintf("%q is out of range: want 0 to 300000", value))
		}
		p.warnTrailing(option, value, rest)
		ms := time.Duration(n) * time.Millisecond
		switch c {
		case 'l':
			note.Length = ms
		case 'r':
			note.Reps = int(n)
		case 'd':
			note.Delay, note.DelayAfterLast = ms, false
		case 'D':
			note.Delay, note.DelayAfterLast = ms, true
		}
	case 's':
		note.Stdin = StdinLine
	case 'c':
		note.Stdin = StdinChar
	case 'n':
		p.cmd.Notes = append(p.cmd.Notes, DefaultBeepNote())
	case 'X':
		p.cmd.Verbose = true
	case 'e':
		if p.deviceSet {
			return &BeepUsageError{Index: index, Arg: arg,
				Problem: "you cannot give the --device parameter more than once"}
		}
		if value == "" {
			return bad("needs a device path, like /dev/input/by-path/platform-pcspkr-event-spkr")
		}
		p.deviceSet = true
		p.cmd.Device = value
	case 'h':
		p.cmd.Help, p.stop = true, true
	case 'v', 'V':
		p.cmd.Version, p.stop = true, true
	}
	return nil
}

func (p *beepArgParser) warnTrailing(option, value, rest string) {
	if rest != "" {
		p.cmd.Warnings = append(p.cmd.Warnings, fmt.Sprintf("%s %q: ignoring %q after the number, as beep 1.4 does", option, value, rest))
	}
}

// isCSpace is C's isspace in the C locale, which sscanf skips.
func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// scanUint reads an unsigned number as sscanf's %u does: blanks, an
// optional sign, decimal digits. A minus sign makes any number but 0 out
// of range (C would wrap it around to a huge value, which beep rejects);
// so does a number of more than 32 bits, which C would silently truncate.
func scanUint(s string) (n uint64, rest string, ok bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	negative := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		negative = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if n <= math.MaxUint32 {
			n = n*10 + uint64(s[i]-'0')
		}
		i++
	}
	if i == start {
		return 0, s, false
	}
	if negative && n != 0 {
		n = math.MaxUint32
	}
	return n, s[i:], true
}

// scanFloat32 reads a number as sscanf's %f does: blanks, an optional
// sign, then decimal digits with an optional point and exponent, a
// hexadecimal number ("0x1.8p3"), "inf", "infinity" or "nan", rounded to
// a C float.
func scanFloat32(s string) (f float32, rest string, ok bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	start := i
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	lower := strings.ToLower(s[i:])
	switch {
	case strings.HasPrefix(lower, "infinity"):
		i += len("infinity")
	case strings.HasPrefix(lower, "inf"):
		i += len("inf")
	case strings.HasPrefix(lower, "nan"):
		i += len("nan")
	case strings.HasPrefix(lower, "0x") && len(lower) > 2 && (isHexDigit(lower[2]) || lower[2] == '.' && len(lower) > 3 && isHexDigit(lower[3])):
		i += 2
		i = scanDigits(s, i, isHexDigit, true)
		if j := scanExponent(s, i, 'p'); j > i {
			i = j
		}
		v, err := strconv.ParseFloat(withHexExponent(s[start:i]), 32)
		if err != nil && !isRangeError(err) {
			return 0, s, false
		}
		return float32(v), s[i:], true
	default:
		j := scanDigits(s, i, isDigit, true)
		if j == i || s[i:j] == "." {
			return 0, s, false
		}
		i = j
		if j := scanExponent(s, i, 'e'); j > i {
			i = j
		}
	}
	v, err := strconv.ParseFloat(s[start:i], 32)
	if err != nil && !isRangeError(err) {
		return 0, s, false
	}
	return float32(v), s[i:], true
}

func isDigit(c byte) bool    { return c >= '0' && c <= '9' }
func isHexDigit(c byte) bool { return isDigit(c) || (c|0x20) >= 'a' && (c|0x20) <= 'f' }

// scanDigits skips digits with at most one point among them.
func scanDigits(s string, i int, digit func(byte) bool, point bool) int {
	for i < len(s) && (digit(s[i]) || point && s[i] == '.') {
		if s[i] == '.' {
			point = false
		}
		i++
	}
	return i
}

// scanExponent returns the end of an exponent ("e-3", "p+4") at s[i:], or
// i when there is none.
func scanExponent(s string, i int, letter byte) int {
	if i >= len(s) || s[i]|0x20 != letter {
		return i
	}
	j := i + 1
	if j < len(s) && (s[j] == '+' || s[j] == '-') {
		j++
	}
	k := scanDigits(s, j, isDigit, false)
	if k == j {
		return i
	}
	return k
}

// withHexExponent adds the "p0" that Go needs and C does not.
func withHexExponent(s string) string {
	if strings.ContainsAny(s, "pP") {
		return s
	}
	return s + "p0"
}

func isRangeError(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// Tones expands the note's repetitions: -d puts Delay between them only,
// -D after the last one too. Unset Freq plays 440 Hz. A note with a Stdin
// mode is played once per line or byte of input; Tones is one such play.
func (n BeepNote) Tones() []Tone {
	return n.appendTones(make([]Tone, 0, max(n.Reps, 0)))
}

func (n BeepNote) appendTones(tones []Tone) []Tone {
	freq := n.Freq
	if freq == 0 {
		freq = BeepDefaultFreq
	}
	for i := 0; i < n.Reps; i++ {
		t := Tone{Freq: freq, Length: n.Length}
		if n.DelayAfterLast || i+1 < n.Reps {
			t.Delay = n.Delay
		}
		tones = append(tones, t)
	}
	return tones
}

// Tones is every note's tones, in order.
func (c BeepCommand) Tones() []Tone {
	var tones []Tone
	for _, n := range c.Notes {
		tones = n.appendTones(tones)
	}
	return tones
}

// toneCount is how many tones Tones returns.
func (c BeepCommand) toneCount() int {
	total := 0
	for _, n := range c.Notes {
		total += max(n.Reps, 0)
	}
	return total
}
