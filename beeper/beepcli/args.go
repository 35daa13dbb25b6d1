package beepcli

import (
	"fmt"
	"strconv"
	"strings"
)

// extensions are the options this beep has beyond beep 1.4's.
type extensions struct {
	song    string // --song SONG: play a song file, or an embedded song
	wav     string // --wav PATH: render to a WAV file (or a directory)
	wavRate int    // --wav-rate HZ
	print   bool   // --print: print the beep arguments, play nothing
}

// A usageError is a bad command line: Run prints it, then the usage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// splitArgs takes this beep's own options out of args and leaves beep
// 1.4's for sequence.ParseBeepArgs, with each one's index in args (for
// error messages). It steps over option values exactly as getopt does,
// so that "-e --print" keeps "--print" as the device name it is to beep.
func splitArgs(args []string) (ext extensions, rest []string, index []int, err error) {
	keep := func(i int) {
		rest = append(rest, args[i])
		index = append(index, i)
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		name, value, hasValue := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
		switch {
		case arg == "--":
			for ; i < len(args); i++ {
				keep(i)
			}
		case arg == "--print":
			ext.print = true
		case strings.HasPrefix(arg, "--") && (name == "song" || name == "wav" || name == "wav-rate"):
			if !hasValue {
				if i+1 >= len(args) {
					return ext, nil, nil, &usageError{fmt.Sprintf("option --%s needs a value", name)}
				}
				i++
				value = args[i]
			}
			if value == "" {
				return ext, nil, nil, &usageError{fmt.Sprintf("option --%s needs a non-empty value", name)}
			}
			switch name {
			case "song":
				ext.song = value
			case "wav":
				ext.wav = value
			case "wav-rate":
				rate, err := strconv.Atoi(value)
				if err != nil || rate <= 0 {
					return ext, nil, nil, &usageError{fmt.Sprintf("--wav-rate %q: not a whole number of hertz above 0", value)}
				}
				ext.wavRate = rate
			}
		case strings.HasPrefix(arg, "--"):
			keep(i)
			// --device and its unambiguous abbreviations take the next
			// argument as their value, as with getopt_long.
			if !hasValue && name != "" && strings.HasPrefix("device", name) && !strings.HasPrefix("debug", name) && i+1 < len(args) {
				i++
				keep(i)
			}
		case len(arg) > 1 && arg[0] == '-':
			keep(i)
			// In a cluster like "-sf", the first option taking a value
			// takes the rest of the cluster, or the next argument.
			for j := 1; j < len(arg); j++ {
				if strings.IndexByte("flrdDe", arg[j]) >= 0 {
					if j == len(arg)-1 && i+1 < len(args) {
						i++
						keep(i)
					}
					break
				}
			}
		default:
			keep(i)
		}
	}
	return ext, rest, index, nil
}
