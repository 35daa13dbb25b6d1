package sequence

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// bn builds a BeepNote from milliseconds.
func bn(freq float64, length, reps, delay int, after bool) BeepNote {
	return BeepNote{Freq: freq, Length: time.Duration(length) * ms, Reps: reps, Delay: time.Duration(delay) * ms, DelayAfterLast: after}
}

var defaultNote = bn(0, 200, 1, 100, false)

func TestParseBeepArgs(t *testing.T) {
	tests := []struct {
		name string
		args string // split on blanks; "␣" stands for a blank inside an argument
		want BeepCommand
	}{
		{"no arguments: one default beep", "", BeepCommand{Notes: []BeepNote{defaultNote}}},
		{"frequency and length", "-f 440 -l 300", BeepCommand{Notes: []BeepNote{bn(440, 300, 1, 100, false)}}},
		{"float frequency rounds to whole hertz", "-f 311.1", BeepCommand{Notes: []BeepNote{bn(311, 200, 1, 100, false)}}},
		{"half hertz rounds up", "-f 392.5", BeepCommand{Notes: []BeepNote{bn(393, 200, 1, 100, false)}}},
		{"-f 0 means unset", "-f 0", BeepCommand{Notes: []BeepNote{defaultNote}}},
		{"-f 0.4 rounds to unset", "-f 0.4", BeepCommand{Notes: []BeepNote{defaultNote}}},
		{"-f after -f 0 does not warn", "-f 0 -f 500", BeepCommand{Notes: []BeepNote{bn(500, 200, 1, 100, false)}}},
		{"exponent frequency", "-f 1e3", BeepCommand{Notes: []BeepNote{bn(1000, 200, 1, 100, false)}}},
		{"hexadecimal frequency, as C's %f reads it", "-f 0x1p9", BeepCommand{Notes: []BeepNote{bn(512, 200, 1, 100, false)}}},
		{"upper limits", "-f 20000 -l 300000 -r 300000 -d 300000", BeepCommand{Notes: []BeepNote{bn(20000, 300000, 300000, 300000, false)}}},
		{"-d delays between repetitions only", "-f 1000 -r 3 -d 50", BeepCommand{Notes: []BeepNote{bn(1000, 200, 3, 50, false)}}},
		{"-D delays after the last too", "-r 3 -D 50", BeepCommand{Notes: []BeepNote{bn(0, 200, 3, 50, true)}}},
		{"-d after -D: the last one sets delay and end delay", "-D 50 -d 20", BeepCommand{Notes: []BeepNote{bn(0, 200, 1, 20, false)}}},
		{"-D after -d", "-d 20 -D 50", BeepCommand{Notes: []BeepNote{bn(0, 200, 1, 50, true)}}},
		{"-n starts again from the defaults", "-f 880 -l 50 -r 2 -D 10 -n -l 100", BeepCommand{Notes: []BeepNote{bn(880, 50, 2, 10, true), bn(0, 100, 1, 100, false)}}},
		{"--new is -n", "-f 880 --new -f 440", BeepCommand{Notes: []BeepNote{bn(880, 200, 1, 100, false), bn(440, 200, 1, 100, false)}}},
		{"abbreviated --ne is --new", "--ne", BeepCommand{Notes: []BeepNote{defaultNote, defaultNote}}},
		{"values attached to short options", "-f440 -l300 -r2 -d5", BeepCommand{Notes: []BeepNote{bn(440, 300, 2, 5, false)}}},
		{"grouped short options", "-nf440", BeepCommand{Notes: []BeepNote{defaultNote, bn(440, 200, 1, 100, false)}}},
		{"grouped option takes the next argument", "-nf 440", BeepCommand{Notes: []BeepNote{defaultNote, bn(440, 200, 1, 100, false)}}},
		{"-s beeps per line", "-s", BeepCommand{Notes: []BeepNote{{Length: 200 * ms, Reps: 1, Delay: 100 * ms, Stdin: StdinLine}}}},
		{"-c beeps per character, the last of -s -c wins", "-sc", BeepCommand{Notes: []BeepNote{{Length: 200 * ms, Reps: 1, Delay: 100 * ms, Stdin: StdinChar}}}},
		{"device forms", "-e /dev/tty0", BeepCommand{Notes: []BeepNote{defaultNote}, Device: "/dev/tty0"}},
		{"device attached", "-e/dev/tty0", BeepCommand{Notes: []BeepNote{defaultNote}, Device: "/dev/tty0"}},
		{"--device=", "--device=/dev/input/event3", BeepCommand{Notes: []BeepNote{defaultNote}, Device: "/dev/input/event3"}},
		{"--device VALUE", "--device /dev/input/event3", BeepCommand{Notes: []BeepNote{defaultNote}, Device: "/dev/input/event3"}},
		{"--dev abbreviates --device", "--dev=/dev/tty0", BeepCommand{Notes: []BeepNote{defaultNote}, Device: "/dev/tty0"}},
		{"--verbose", "--verbose", BeepCommand{Notes: []BeepNote{defaultNote}, Verbose: true}},
		{"--debug twice", "--debug --deb", BeepCommand{Notes: []BeepNote{defaultNote}, Verbose: true}},
		{"-h stops at once", "-h -f nonsense", BeepCommand{Notes: []BeepNote{defaultNote}, Help: true}},
		{"--help", "--help", BeepCommand{Notes: []BeepNote{defaultNote}, Help: true}},
		{"-h after an operand, as getopt permutes", "extra -h", BeepCommand{Notes: []BeepNote{defaultNote}, Help: true}},
		{"-v", "-v", BeepCommand{Notes: []BeepNote{defaultNote}, Version: true}},
		{"-V", "-f 100 -V", BeepCommand{Notes: []BeepNote{bn(100, 200, 1, 100, false)}, Version: true}},
		{"--vers abbreviates --version", "--vers", BeepCommand{Notes: []BeepNote{defaultNote}, Version: true}},
		{"-- ends options", "-f 300 --", BeepCommand{Notes: []BeepNote{bn(300, 200, 1, 100, false)}}},
		{"repeated -f warns, last wins", "-f 100 -f 200", BeepCommand{Notes: []BeepNote{bn(200, 200, 1, 100, false)},
			Warnings: []string{"-f 200: multiple -f values given, only last one is used"}}},
		{"sscanf skips blanks and takes a sign", "-l ␣+100 -r -0", BeepCommand{Notes: []BeepNote{bn(0, 100, 0, 100, false)}}},
		{"text after a number is ignored with a warning", "-l 100ms", BeepCommand{Notes: []BeepNote{bn(0, 100, 1, 100, false)},
			Warnings: []string{`-l "100ms": ignoring "ms" after the number, as beep 1.4 does`}}},
		{"-r 0 plays nothing", "-r 0", BeepCommand{Notes: []BeepNote{bn(0, 200, 0, 100, false)}}},
		{"-f takes a value that looks like an option", "-f -0", BeepCommand{Notes: []BeepNote{defaultNote}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBeepArgs(splitArgs(tt.args))
			if err != nil {
				t.Fatalf("ParseBeepArgs(%q) error: %v", tt.args, err)
			}
			if !reflect.DeepEqual(tt.want, got) {
				t.Errorf("ParseBeepArgs(%q) (-want +got):\n  -%+v\n  +%+v", tt.args, tt.want, got)
			}
		})
	}
}

// splitArgs splits a test's argument string on blanks; "␣" stands for a
// blank within an argument.
func splitArgs(s string) []string {
	args := strings.Fields(s)
	for i := range args {
		args[i] = strings.ReplaceAll(args[i], "␣", " ")
	}
	return args
}

func TestParseBeepArgsErrors(t *testing.T) {
	tests := []struct {
		name      string
		args      string
		wantIndex int
		wantUsage bool
		wantText  string
	}{
		{"missing value", "-l 100 -f", 2, true, "option requires an argument -- 'f'"},
		{"unknown short option", "-x", 0, true, `invalid option -- "x"`},
		{"unknown option in a group", "-nq", 0, true, `invalid option -- "q"`},
		{"unknown long option", "--frequency=440", 0, true, "unrecognized option '--frequency'"},
		{"ambiguous --ver", "--ver", 0, true, "option '--ver' is ambiguous; possibilities: --version --verbose"},
		{"ambiguous --de", "--de=x", 0, true, "option '--de' is ambiguous; possibilities: --debug --device"},
		{"flag given a value", "--new=2", 0, true, "option '--new' doesn't allow an argument"},
		{"--device without value", "--device", 0, true, "option '--device' requires an argument"},
		{"frequency not a number", "-f abc", 1, true, `-f "abc" is not a frequency in hertz`},
		{"empty frequency", "-f=", 0, true, `-f "=" is not a frequency in hertz`},
		{"frequency too high", "-f 20000.5", 1, true, `-f "20000.5" is out of range: want 0 to 20000 Hz`},
		{"negative frequency", "-f -1", 1, true, `-f "-1" is out of range`},
		{"NaN frequency", "-f nan", 1, true, `-f "nan" is out of range`},
		{"infinite frequency", "-f inf", 1, true, `-f "inf" is out of range`},
		{"length too long", "-l 300001", 1, true, `-l "300001" is out of range: want 0 to 300000`},
		{"negative length", "-l -1", 1, true, `-l "-1" is out of range`},
		{"length beyond 32 bits, which C would wrap to 0", "-l 4294967296", 1, true, `out of range`},
		{"length not a number", "-l x100", 1, true, `-l "x100" is not a whole number`},
		{"empty delay", "-d", 0, true, "option requires an argument -- 'd'"},
		{"repetitions too many", "-r 300001", 1, true, `-r "300001" is out of range`},
		{"delay too long", "-D 300001", 1, true, `-D "300001" is out of range`},
		{"device twice", "-e /dev/a --device=/dev/b", 2, false, "you cannot give the --device parameter more than once"},
		{"empty device", "--device=", 0, true, "--device needs a device path"},
		{"operand", "-f 440 play", 2, true, "non-option arguments left on command line"},
		{"a lone dash is an operand", "-", 0, true, "non-option arguments left on command line"},
		{"after -- everything is an operand", "-- -f 440", 1, true, "non-option arguments left on command line"},
		{"an error before -h wins", "-f x -h", 1, true, "is not a frequency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseBeepArgs(splitArgs(tt.args))
			var usage *BeepUsageError
			if !errors.As(err, &usage) {
				t.Fatalf("ParseBeepArgs(%q) = %v, want a *BeepUsageError", tt.args, err)
			}
			if usage.Index != tt.wantIndex || usage.Usage != tt.wantUsage || !strings.Contains(usage.Problem, tt.wantText) {
				t.Errorf("ParseBeepArgs(%q) error (-want +got):\n  -index %d, usage %v, problem containing %q\n  +index %d, usage %v, problem %q",
					tt.args, tt.wantIndex, tt.wantUsage, tt.wantText, usage.Index, usage.Usage, usage.Problem)
			}
			if !strings.HasPrefix(err.Error(), "sequence: beep argument ") {
				t.Errorf("error %q lacks the package and argument prefix", err)
			}
		})
	}
}

func TestBeepNoteTones(t *testing.T) {
	tests := []struct {
		name string
		note BeepNote
		want []Tone
	}{
		{"default note", defaultNote, []Tone{{Freq: 440, Length: 200 * ms}}},
		{"-d: delay between repetitions only", bn(1000, 50, 3, 20, false),
			[]Tone{{1000, 50 * ms, 20 * ms}, {1000, 50 * ms, 20 * ms}, {1000, 50 * ms, 0}}},
		{"-D: delay after the last too", bn(1000, 50, 2, 20, true),
			[]Tone{{1000, 50 * ms, 20 * ms}, {1000, 50 * ms, 20 * ms}}},
		{"no repetitions", bn(1000, 50, 0, 20, true), []Tone{}},
		{"length 0", bn(300, 0, 1, 0, false), []Tone{{Freq: 300}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := diffTones(tt.want, tt.note.Tones()); d != "" {
				t.Errorf("Tones() (-want +got):\n%s", d)
			}
		})
	}
}

// TestImperialMarchScript checks the real script's command line against the
// reference table, note by note, as beep 1.4 plays it: frequencies rounded
// half up to whole hertz, -D after every note but the last.
func TestImperialMarchScript(t *testing.T) {
	cmd, err := ParseBeepArgs(strings.Fields(imperialMarchScript)[1:])
	if err != nil {
		t.Fatal(err)
	}
	if len(cmd.Warnings) > 0 {
		t.Errorf("warnings: %q", cmd.Warnings)
	}
	var want []Tone
	for _, n := range imperialMarchNotes(t) {
		tone := Tone{Freq: float64(int(n.freq + 0.5)), Length: time.Duration(n.length) * ms}
		if n.delay >= 0 {
			tone.Delay = time.Duration(n.delay) * ms
		}
		want = append(want, tone)
	}
	got := cmd.Tones()
	if d := diffTones(want, got); d != "" {
		t.Errorf("Imperial March (-want +got):\n%s", d)
	}
	var total time.Duration
	for _, tone := range got {
		total += tone.Duration()
	}
	if total != 21550*ms {
		t.Errorf("Imperial March lasts %v, want 21.55s", total)
	}
}

func FuzzParseBeepArgs(f *testing.F) {
	f.Add(strings.Join(strings.Fields(imperialMarchScript)[1:], "\x00"))
	for _, seed := range []string{"", "-f 440 -l 300", "-nf440", "-r 3 -d 50 -n -D 20", "--device=/dev/x", "--ver", "-f 0x1.8p3", "-l 100ms", "-s -c -h", "-- x"} {
		f.Add(strings.ReplaceAll(seed, " ", "\x00"))
	}
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		cmd, err := ParseBeepArgs(args)
		if err != nil {
			var usage *BeepUsageError
			if !errors.As(err, &usage) || usage.Index < 0 || usage.Index >= len(args) || usage.Arg != args[usage.Index] {
				t.Fatalf("error %#v does not point at one of the %d arguments", err, len(args))
			}
			return
		}
		if len(cmd.Notes) == 0 {
			t.Fatal("no notes")
		}
		for i, n := range cmd.Notes {
			if n.Freq < 0 || n.Freq > 20000 || n.Freq != float64(int(n.Freq)) ||
				n.Length < 0 || n.Length > 300000*ms || n.Length%ms != 0 ||
				n.Delay < 0 || n.Delay > 300000*ms || n.Delay%ms != 0 ||
				n.Reps < 0 || n.Reps > 300000 {
				t.Fatalf("note %d out of beep's ranges: %+v", i, n)
			}
		}
		if cmd.Help || cmd.Version || cmd.toneCount() > 1000 {
			return
		}
		// What FormatBeepArgs writes back must play the same.
		tones := cmd.Tones()
		again, err := ParseBeepArgs(strings.Fields(FormatBeepArgs(tones)))
		if err != nil {
			t.Fatalf("FormatBeepArgs output does not parse: %v", err)
		}
		if len(timeline(tones)) == 0 {
			return // "" parses as beep's default beep
		}
		checkSameTimeline(t, tones, again.Tones(), 0)
	})
}

func ExampleParseBeepArgs() {
	cmd, err := ParseBeepArgs([]string{"-f", "392", "-l", "350", "-D", "100", "-n", "-f", "311.1", "-l", "250", "-r", "2", "-d", "50"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, tone := range cmd.Tones() {
		fmt.Println(tone.Freq, tone.Length, tone.Delay)
	}
	// Output:
	// 392 350ms 100ms
	// 311 250ms 50ms
	// 311 250ms 0s
}
