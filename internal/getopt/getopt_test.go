package getopt

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// testOptions cover every kind: switches, required values (with and
// without a name for messages), an optional value, short-only and
// long-only options.
var testOptions = []Option{
	{Short: 'u', Long: "udp"},
	{Short: 'v', Long: "verbose"},
	{Short: 'd', Long: "delay", Value: RequiredValue, ValueName: "T"},
	{Short: 'c', Long: "config", Value: RequiredValue},
	{Long: "demo", Value: OptionalValue},
	{Short: 'x', Value: OptionalValue},
	{Short: '4'},
	{Long: "song", Value: RequiredValue, ValueName: "FILE"},
}

// A got is one option Parse found: its long name (or short letter), as
// spelled, and its value.
type got struct{ name, spelled, value string }

func (g got) String() string { return fmt.Sprintf("%s(%s)=%q", g.name, g.spelled, g.value) }

func optionName(o Option) string {
	if o.Long != "" {
		return o.Long
	}
	return string(o.Short)
}

func parse(args []string) ([]got, []string, error) {
	var found []got
	operands, err := Parse(args, testOptions, func(i int, spelled, value string) error {
		found = append(found, got{optionName(testOptions[i]), spelled, value})
		return nil
	})
	return found, operands, err
}

var parseTests = []struct {
	name         string
	args         []string
	wantFound    []got
	wantOperands []string
	wantErr      string
}{
	{name: "nothing", args: nil},
	{name: "operands only", args: []string{"host", "22"}, wantOperands: []string{"host", "22"}},
	{name: "short switches", args: []string{"-u", "-v"},
		wantFound: []got{{"udp", "-u", ""}, {"verbose", "-v", ""}}},
	{name: "clustered switches", args: []string{"-uv4"},
		wantFound: []got{{"udp", "-u", ""}, {"verbose", "-v", ""}, {"4", "-4", ""}}},
	{name: "short value as the next argument", args: []string{"-d", "100", "h"},
		wantFound: []got{{"delay", "-d", "100"}}, wantOperands: []string{"h"}},
	{name: "short value attached", args: []string{"-d100"}, wantFound: []got{{"delay", "-d", "100"}}},
	{name: "cluster ending in a value", args: []string{"-uvd250", "h"},
		wantFound: []got{{"udp", "-u", ""}, {"verbose", "-v", ""}, {"delay", "-d", "250"}}, wantOperands: []string{"h"}},
	{name: "a value that looks like an option", args: []string{"-d", "-5"}, wantFound: []got{{"delay", "-d", "-5"}}},
	{name: "the rest of a cluster is a value", args: []string{"-dvu"}, wantFound: []got{{"delay", "-d", "vu"}}},
	{name: "long value after =", args: []string{"--delay=2ms"}, wantFound: []got{{"delay", "--delay", "2ms"}}},
	{name: "long value as the next argument", args: []string{"--config", "k.conf"}, wantFound: []got{{"config", "--config", "k.conf"}}},
	{name: "empty long value after =", args: []string{"--song="}, wantFound: []got{{"song", "--song", ""}}},
	{name: "optional long value absent", args: []string{"--demo", "fur-elise"},
		wantFound: []got{{"demo", "--demo", ""}}, wantOperands: []string{"fur-elise"}},
	{name: "optional long value given", args: []string{"--demo=fur-elise"}, wantFound: []got{{"demo", "--demo", "fur-elise"}}},
	{name: "optional short value attached", args: []string{"-xyz", "w"},
		wantFound: []got{{"x", "-x", "yz"}}, wantOperands: []string{"w"}},
	{name: "optional short value absent", args: []string{"-ux", "w"},
		wantFound: []got{{"udp", "-u", ""}, {"x", "-x", ""}}, wantOperands: []string{"w"}},
	{name: "options after operands", args: []string{"h", "1", "--verbose", "2", "-d", "1.5"},
		wantFound: []got{{"verbose", "--verbose", ""}, {"delay", "-d", "1.5"}}, wantOperands: []string{"h", "1", "2"}},
	{name: "-- ends the options", args: []string{"-u", "--", "-v", "--delay"},
		wantFound: []got{{"udp", "-u", ""}}, wantOperands: []string{"-v", "--delay"}},
	{name: "- alone is an operand", args: []string{"-", "-v"},
		wantFound: []got{{"verbose", "-v", ""}}, wantOperands: []string{"-"}},
	{name: "empty argument is an operand", args: []string{"", "22"}, wantOperands: []string{"", "22"}},

	{name: "unknown short option", args: []string{"-q"}, wantErr: "unknown option -q"},
	{name: "unknown short option in a cluster", args: []string{"-vq"}, wantErr: "unknown option -q"},
	{name: "unprintable short option", args: []string{"-\x01"}, wantErr: `unknown option -'\x01'`},
	{name: "NUL is no long-only option's short form", args: []string{"-\x00"}, wantErr: `unknown option -'\x00'`},
	{name: "unknown long option", args: []string{"--udpp"}, wantErr: "unknown option --udpp"},
	{name: "no abbreviations", args: []string{"--verb"}, wantErr: "unknown option --verb"},
	{name: "empty long name", args: []string{"--=x"}, wantErr: "unknown option --"},
	{name: "short-only option by its letter as a long name", args: []string{"--x"}, wantErr: "unknown option --x"},
	{name: "value on a long switch", args: []string{"--udp=yes"}, wantErr: "option --udp takes no value"},
	{name: "missing short value", args: []string{"h", "-d"}, wantErr: "option -d needs a value T"},
	{name: "missing long value", args: []string{"--delay"}, wantErr: "option --delay needs a value T"},
	{name: "missing value without a name", args: []string{"-c"}, wantErr: "option -c needs a value"},
}

func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		t.Run(tt.name, func(t *testing.T) {
			found, operands, err := parse(tt.args)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Parse(%q) error (-want +got):\n-%s\n+%v", tt.args, tt.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.args, err)
			}
			if !slices.Equal(found, tt.wantFound) {
				t.Errorf("Parse(%q) options (-want +got):\n-%v\n+%v", tt.args, tt.wantFound, found)
			}
			if !slices.Equal(operands, tt.wantOperands) {
				t.Errorf("Parse(%q) operands (-want +got):\n-%q\n+%q", tt.args, tt.wantOperands, operands)
			}
		})
	}
}

// An error from the callback stops Parse and comes back unchanged.
func TestParseStopsAtTheCallbacksError(t *testing.T) {
	errStop := errors.New("no -v today")
	calls := 0
	_, err := Parse([]string{"-u", "-v", "-4"}, testOptions, func(i int, spelled, value string) error {
		calls++
		if spelled == "-v" {
			return errStop
		}
		return nil
	})
	if err != errStop {
		t.Errorf("Parse error (-want +got):\n-%v\n+%v", errStop, err)
	}
	if calls != 2 {
		t.Errorf("callback calls (-want +got):\n-2\n+%d", calls)
	}
}

// canonical writes what Parse found as a command line that says the same
// in the plainest way: every option by its long name (short-only ones by
// their letter), required values as the next argument, optional ones
// attached, and the operands after "--".
func canonical(found []got) []string {
	var args []string
	for _, g := range found {
		i := slices.IndexFunc(testOptions, func(o Option) bool { return optionName(o) == g.name })
		o := testOptions[i]
		spelled := "--" + o.Long
		if o.Long == "" {
			spelled = "-" + string(o.Short)
		}
		switch o.Value {
		case NoValue:
			args = append(args, spelled)
		case RequiredValue:
			args = append(args, spelled, g.value)
		case OptionalValue:
			switch {
			case g.value == "":
				args = append(args, spelled)
			case o.Long != "":
				args = append(args, spelled+"="+g.value)
			default:
				args = append(args, spelled+g.value)
			}
		}
	}
	return args
}

func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(strings.Join(tt.args, "\x00"))
	}
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		found, operands, err := parse(args)
		if err != nil {
			return
		}
		// Operands are arguments, in their order.
		rest := args
		for _, op := range operands {
			k := slices.Index(rest, op)
			if k < 0 {
				t.Fatalf("Parse(%q): operand %q is not one of the arguments, in order", args, op)
			}
			rest = rest[k+1:]
		}
		for _, g := range found {
			if !strings.HasPrefix(g.spelled, "-") {
				t.Fatalf("Parse(%q): option spelled %q", args, g.spelled)
			}
		}
		// The plainest command line that says the same parses the same.
		again := append(canonical(found), "--")
		again = append(again, operands...)
		found2, operands2, err := parse(again)
		if err != nil {
			t.Fatalf("Parse(%q), from Parse(%q): %v", again, args, err)
		}
		names := func(gs []got) []string {
			var s []string
			for _, g := range gs {
				s = append(s, g.name+"="+g.value)
			}
			return s
		}
		if !slices.Equal(names(found), names(found2)) || !slices.Equal(operands, operands2) {
			t.Fatalf("Parse(%q) = %v %q, but its canonical form %q = %v %q", args, found, operands, again, found2, operands2)
		}
	})
}
