package getopt

import (
	"fmt"
	"strings"
)

// Value says whether an option takes a value.
type Value uint8

const (
	NoValue       Value = iota // a switch: "-v", "--verbose"
	RequiredValue              // "-d 100", "-d100", "--delay 100", "--delay=100"
	OptionalValue              // "--demo" or "--demo=SONG", "-x" or "-xVALUE"
)

// An Option is one option a program accepts.
type Option struct {
	// Short is the letter of its short form ("-d"); 0 for none.
	Short byte
	// Long is the name of its long form ("--delay"); "" for none.
	Long  string
	Value Value
	// ValueName names a required value in Parse's "needs a value" error
	// ("option --delay needs a value T"); it may be empty.
	ValueName string
}

// Parse reads args (without the program name) and calls found with the
// index in opts of each option given, the option as the user spelled it
// ("-d" or "--delay", for messages) and its value ("" for a switch, and
// for an optional value not given). It returns the operands, in order.
// It stops at the first error: its own, or found's, returned unchanged.
func Parse(args []string, opts []Option, found func(i int, spelled, value string) error) (operands []string, err error) {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			return append(operands, args[i+1:]...), nil
		case strings.HasPrefix(arg, "--"):
			name, value, hasValue := strings.Cut(arg[2:], "=")
			o := lookup(opts, func(o *Option) bool { return o.Long != "" && o.Long == name })
			if o < 0 {
				return nil, fmt.Errorf("unknown option --%s", name)
			}
			switch opts[o].Value {
			case NoValue:
				if hasValue {
					return nil, fmt.Errorf("option --%s takes no value", name)
				}
			case RequiredValue:
				if !hasValue {
					if i+1 >= len(args) {
						return nil, needsValue("--"+name, opts[o])
					}
					i++
					value = args[i]
				}
			}
			if err := found(o, "--"+name, value); err != nil {
				return nil, err
			}
		case len(arg) > 1 && arg[0] == '-':
			for j := 1; j < len(arg); j++ {
				o := lookup(opts, func(o *Option) bool { return o.Short != 0 && o.Short == arg[j] })
				if o < 0 {
					return nil, fmt.Errorf("unknown option %s", shortName(arg[j]))
				}
				if opts[o].Value == NoValue {
					if err := found(o, shortName(arg[j]), ""); err != nil {
						return nil, err
					}
					continue
				}
				// The rest of the cluster is the value.
				value := arg[j+1:]
				if value == "" && opts[o].Value == RequiredValue {
					if i+1 >= len(args) {
						return nil, needsValue(shortName(arg[j]), opts[o])
					}
					i++
					value = args[i]
				}
				if err := found(o, shortName(arg[j]), value); err != nil {
					return nil, err
				}
				break
			}
		default:
			operands = append(operands, arg)
		}
	}
	return operands, nil
}

func lookup(opts []Option, match func(*Option) bool) int {
	for i := range opts {
		if match(&opts[i]) {
			return i
		}
	}
	return -1
}

func needsValue(spelled string, o Option) error {
	if o.ValueName == "" {
		return fmt.Errorf("option %s needs a value", spelled)
	}
	return fmt.Errorf("option %s needs a value %s", spelled, o.ValueName)
}

// shortName is a short option as typed, quoted when the byte would not
// show in a terminal.
func shortName(c byte) string {
	if c >= 0x21 && c < 0x7f {
		return "-" + string(c)
	}
	return fmt.Sprintf("-%q", c)
}
