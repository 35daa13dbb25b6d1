package beepcompat

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/sequence"
	"github.com/knockbeep/knockbeep/songs"
)

// beep 1.4's traced calls: its sleeps tell its schedule exactly.
const realCalls = "ioctl,clock_nanosleep,nanosleep"

// Our beep sleeps in the Go runtime, invisibly to a trace: its schedule
// comes from its speaker calls' time stamps.
const ourCalls = "ioctl"

// ourAttempts is how many times our beep may play a case whose only fault
// is a change out of schedule, which a busy machine can cause.
const ourAttempts = 3

// multipleF is beep 1.4's warning for a tone given two frequencies.
const multipleF = "multiple -f values given, only last one is used"

// TestRealBeepParity runs Debian's beep 1.4 and ours on the same command
// lines, on the console, and checks that they play the same: that
// sequence.ParseBeepArgs gives exactly the tones real beep plays (its
// divisors and its sleeps, read from strace), that our beep plays them
// in time, and that both refuse the same command lines the same way.
func TestRealBeepParity(t *testing.T) {
	beep := needTools(t, true)
	ours := ourBeep(t)
	if _, whyNot := realtime(); whyNot != "" {
		t.Logf("the traced beeps run at the ordinary priority, not real-time: %s; the machine's load reaches them, and only the floor measured from beep 1.4 allows for it", whyNot)
	} else {
		t.Logf("the traced beeps, and strace, run at real-time priority (SCHED_FIFO %s)", realtimePriority)
	}

	t.Run("plays", func(t *testing.T) {
		for _, tt := range playCases {
			t.Run(tt.name, func(t *testing.T) {
				checkPlays(t, beep, ours, tt)
			})
		}
	})

	t.Run("Imperial March at ten times the speed", func(t *testing.T) {
		data, _, err := songs.Read(songs.ImperialMarch)
		if err != nil {
			t.Fatal(err)
		}
		args := scriptArgs(string(data))
		// The split must be the one the song parser makes of the file.
		song, err := sequence.ParseBeep(string(data))
		if err != nil {
			t.Fatal(err)
		}
		cmd, err := sequence.ParseBeepArgs(args)
		if err != nil {
			t.Fatal(err)
		}
		if got := cmd.Tones(); !equalTones(got, song) {
			t.Fatalf("the script's arguments play %d tones, sequence.ParseBeep %d: the test splits the file wrongly", len(got), len(song))
		}
		checkPlays(t, beep, ours, playCase{name: "imperial march", args: scaleTimes(args, 10)})
	})

	t.Run("FormatBeepArgs of a compiled pool", func(t *testing.T) {
		tones := compiledPool(t)
		args := strings.Fields(sequence.FormatBeepArgs(tones))
		t.Logf("beep %s", strings.Join(args, " "))
		want := toneSegments(tones)
		checkPlays(t, beep, ours, playCase{name: "pool", args: args, want: want})
	})

	t.Run("refuses", func(t *testing.T) {
		for _, tt := range refusalCases {
			t.Run(tt.name, func(t *testing.T) {
				checkRefusal(t, beep, ours, tt)
			})
		}
	})
}

// A playCase is a command line both beeps play. The console device is
// put first, "-e /dev/tty0", unless the case names its own.
type playCase struct {
	name      string
	args      []string
	ownDevice bool   // args name the device
	stdin     string // for -s and -c
	multipleF bool   // beep warns multipleF
	// want, when set, is what beep is to play, instead of what
	// ParseBeepArgs makes of args.
	want []segment
	// parserOnly says why our beep is not to play like beep 1.4 here;
	// only the parser is compared.
	parserOnly string
}

var playCases = []playCase{
	{name: "no options: 440 Hz for 200 ms", args: nil},
	{name: "-r with -d: no delay after the last", args: []string{"-f", "523.25", "-l", "12", "-r", "3", "-d", "7"}},
	{name: "-r with -D: a delay after the last", args: []string{"-f", "523.25", "-l", "12", "-r", "3", "-D", "7"}},
	{name: "-d after -D wins", args: []string{"-l", "5", "-r", "2", "-D", "4", "-d", "9", "-n", "-f", "600", "-l", "5"}},
	{name: "-D after -d wins", args: []string{"-l", "5", "-r", "2", "-d", "9", "-D", "4", "-n", "-f", "600", "-l", "5"}},
	{name: "-n starts again from the defaults", args: []string{"-f", "880", "-l", "7", "-r", "2", "-D", "3", "-n", "-l", "6", "-n", "-r", "2", "-l", "4", "-d", "0"}},
	{name: "--new and -n at the end", args: []string{"-f", "700", "-l", "6", "--new", "-f", "800", "-l", "6", "-n"}},
	{name: "-f 0 plays 440 Hz", args: []string{"-f", "0", "-l", "5", "-n", "-f", "0.4", "-l", "5"}},
	{name: "fractional frequencies round half up", args: []string{
		"-f", "392.5", "-l", "3", "-n", "-f", "392.49", "-l", "3", "-n", "-f", "311.13", "-l", "3", "-n",
		"-f", "1e3", "-l", "3", "-n", "-f", "0x1p9", "-l", "3", "-n", "-f", " +466.16", "-l", "3"}},
	{name: "below the speaker's range", args: []string{"-f", "1", "-l", "3", "-n", "-f", "0.49999997", "-l", "3", "-n", "-f", "18", "-l", "3"},
		parserOnly: "beep 1.4's divisor wraps around 16 bits (-f 1 sounds 88 Hz, -f 18 1589 Hz); our beep clamps to the speaker's 21 Hz"},
	{name: "top of the range", args: []string{"-f", "20000", "-l", "3", "-n", "-f", "19999.5", "-l", "3", "-n", "-f", "7000", "-l", "3"}},
	{name: "a second -f warns and wins", args: []string{"-f", "440", "-f", "880", "-l", "4"}, multipleF: true},
	{name: "-f 0 then -f does not warn", args: []string{"-f", "0", "-f", "660", "-l", "4"}},
	{name: "-f in another tone does not warn", args: []string{"-f", "440", "-l", "3", "-n", "-f", "880", "-l", "3"}},
	{name: "values glued to their options", args: []string{"-f440", "-l5", "-D2", "-n", "-f880", "-l5", "-r2", "-d1"}},
	{name: "grouped options", args: []string{"-l3", "-nl4", "-nf", "660", "-nl3r2"}},
	{name: "text after a number is ignored", args: []string{"-f", "440Hz", "-l", "3ms", "-r", "2x", "-d", "4.9", "-n", "-l", " 5", "-f", "+330"}},
	{name: "-r 0 plays nothing", args: []string{"-r", "0", "-n", "-f", "500", "-l", "3"}},
	{name: "-l 0 keeps its delay", args: []string{"-l", "0", "-D", "6", "-n", "-f", "700", "-l", "3"}},
	{name: "back-to-back tones at one pitch", args: []string{"-f", "600", "-l", "4", "-r", "3", "-d", "0", "-n", "-f", "600", "-l", "4"}},
	{name: "-- ends the options", args: []string{"-f", "450", "-l", "3", "--"}},
	{name: "--verbose and --debug", args: []string{"--verbose", "--debug", "-f", "450", "-l", "3"}},
	{name: "--device= and an abbreviated --new", ownDevice: true, args: []string{"--device=" + console, "-f", "450", "-l", "3", "--ne", "-l", "2"}},
	{name: "--dev with its value apart", ownDevice: true, args: []string{"-l", "3", "--dev", console}},
	{name: "-s plays once per line", args: []string{"-s", "-f", "900", "-l", "3", "-d", "0", "-n", "-f", "300", "-l", "3"}, stdin: "one\ntwo\nthree"},
	{name: "-c plays once per byte, newlines too", args: []string{"-c", "-f", "1000", "-l", "2", "-D", "1"}, stdin: "ab\ncd\n"},
}

// checkPlays runs both beeps on tt and compares what they play with what
// ParseBeepArgs says (or tt.want).
func checkPlays(t *testing.T, beep, ours string, tt playCase) {
	t.Helper()
	args := tt.args
	if !tt.ownDevice {
		args = append([]string{"-e", console}, args...)
	}
	want := tt.want
	if want == nil {
		cmd, err := sequence.ParseBeepArgs(args)
		if err != nil {
			t.Fatalf("ParseBeepArgs(%q): %v", args, err)
		}
		want = toneSegments(playedTones(cmd, tt.stdin))
		if got := hasWarning(cmd.Warnings); got != tt.multipleF {
			t.Errorf("ParseBeepArgs warns %q: %v, want %v (warnings %q)", multipleF, got, tt.multipleF, cmd.Warnings)
		}
	}

	// Each attempt plays beep 1.4, then ours, so that ours is judged
	// against the floor of a beep 1.4 run made just before, under the same
	// load. Only a run of ours that is off schedule, and only that, is
	// tried again.
	plan, planEnd := plannedChanges(want)
	var theirs, our run
	for attempt := 1; ; attempt++ {
		theirs = runBeep(t, realCalls, tt.stdin, beep, args...)
		if theirs.code != 0 {
			t.Fatalf("beep 1.4 %q: exit status %d, want 0; stderr:\n%s", args, theirs.code, theirs.stderr)
		}
		got, err := sleptSegments(theirs.calls)
		if err != nil {
			t.Fatal(err)
		}
		if d := diffSegments(want, got); d != "" {
			t.Fatalf("beep 1.4 %q plays (-ParseBeepArgs +beep 1.4):\n%s", args, d)
		}
		if tt.parserOnly != "" {
			t.Logf("our beep not compared: %s", tt.parserOnly)
			break
		}
		fl, err := measureFloor(theirs.calls)
		if err != nil {
			t.Fatal(err)
		}
		late, glitch := ourLimits(fl)

		our = runBeep(t, ourCalls, tt.stdin, ours, args...)
		if our.code != 0 {
			t.Fatalf("our beep %q: exit status %d, want 0; stderr:\n%s", args, our.code, our.stderr)
		}
		changes, end, err := timedChanges(our.calls)
		if err != nil {
			t.Fatal(err)
		}
		m, err := matchTimed(plan, planEnd, changes, end, ourEarly, late, glitch)
		if errors.Is(err, errOffSchedule) && attempt < ourAttempts {
			t.Logf("attempt %d of %d: beep 1.4 up to %v late; ours: %v", attempt, ourAttempts, fl.late, err)
			continue
		}
		if err != nil {
			t.Errorf("our beep %q: %v (beep 1.4 was up to %v late, and silent up to %v between tones, just before)\nplanned: %v, end %v\nplayed:  %v, end %v",
				args, err, fl.late, fl.gap, plan, planEnd, changes, end)
		}
		t.Logf("%d speaker changes over %v; beep 1.4 up to %v late, ours %v (limit %v); silences between tones: beep 1.4's longest %v, ours %d (longest %v, limit %v)",
			len(plan), planEnd, fl.late, m.latest, late, fl.gap, m.glitches, m.longestGlitch, glitch)
		break
	}
	// beep 1.4 logs, warnings included, to standard output.
	if w := strings.Contains(theirs.stdout+theirs.stderr, multipleF); w != tt.multipleF {
		t.Errorf("beep 1.4 warns %q: %v, want %v; stdout:\n%s\nstderr:\n%s", multipleF, w, tt.multipleF, theirs.stdout, theirs.stderr)
	}
	if tt.parserOnly != "" {
		return
	}
	if w := strings.Contains(our.stderr, multipleF); w != tt.multipleF {
		t.Errorf("our beep warns %q: %v, want %v; stderr:\n%s", multipleF, w, tt.multipleF, our.stderr)
	}
	// With -s and -c, both copy their input to standard output. (beep
	// 1.4 would log there too, which these cases do not make it do.)
	if tt.stdin != "" && our.stdout != theirs.stdout {
		t.Errorf("standard output (-beep 1.4 +ours):\n  -%q\n  +%q", theirs.stdout, our.stdout)
	}
}

// playedTones is what cmd plays with stdin as its input: a note with -s
// plays once per line, one with -c once per byte, and the first such note
// reads all of the input, as beep's fgets loop does. Lines here are
// shorter than beep's 4095-byte buffer.
func playedTones(cmd sequence.BeepCommand, stdin string) []sequence.Tone {
	var tones []sequence.Tone
	for _, n := range cmd.Notes {
		plays := 1
		switch n.Stdin {
		case sequence.StdinLine:
			plays = strings.Count(stdin, "\n")
			if stdin != "" && !strings.HasSuffix(stdin, "\n") {
				plays++
			}
			stdin = ""
		case sequence.StdinChar:
			plays = len(stdin)
			stdin = ""
		}
		for range plays {
			tones = append(tones, n.Tones()...)
		}
	}
	return tones
}

func hasWarning(warnings []string) bool {
	for _, w := range warnings {
		if strings.Contains(w, multipleF) {
			return true
		}
	}
	return false
}

func equalTones(a, b []sequence.Tone) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// scriptArgs is the arguments of a beep script like
// songs/imperial-march.beep: one beep command, with # comment lines and
// backslash line continuations, and no quoting.
func scriptArgs(script string) []string {
	var words []string
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") {
			continue
		}
		words = append(words, strings.Fields(strings.TrimSuffix(line, `\`))...)
	}
	if len(words) > 0 && words[0] == "beep" {
		words = words[1:]
	}
	return words
}

// scaleTimes divides the value of every -l, -d and -D by div, rounding
// down, so that a song plays div times faster.
func scaleTimes(args []string, div int) []string {
	out := append([]string(nil), args...)
	for i := 0; i+1 < len(out); i++ {
		switch out[i] {
		case "-l", "-d", "-D":
			if n, err := strconv.Atoi(out[i+1]); err == nil {
				out[i+1] = strconv.Itoa(n / div)
			}
			i++
		}
	}
	return out
}

// compiledPool is a pool as the daemon would write it, loaded back and
// compiled: a leading silence, runs of one pitch that merge, repeated
// beats that FormatBeepArgs writes with -r, pitches that are not whole
// hertz, and back-to-back changes of pitch.
func compiledPool(t *testing.T) []sequence.Tone {
	t.Helper()
	ms := time.Millisecond
	tone := func(hz float64, d time.Duration) sequence.PoolStep {
		return sequence.PoolStep{Kind: sequence.StepTone, Freq: hz, Length: d}
	}
	silence := func(d time.Duration) sequence.PoolStep {
		return sequence.PoolStep{Kind: sequence.StepSilence, Length: d}
	}
	steps := []sequence.PoolStep{
		silence(30 * ms),
		tone(392, 10*ms), tone(392, 10*ms), tone(392, 10*ms), silence(10 * ms),
		tone(392, 20*ms), silence(10 * ms),
		tone(392, 20*ms), silence(10 * ms),
		tone(311.13, 25*ms), tone(466.16, 15*ms), silence(40 * ms),
		tone(587.32, 30*ms), silence(5 * ms), tone(587.32, 30*ms), silence(5 * ms), tone(587.32, 30*ms),
		tone(659.26, 10*ms), silence(20 * ms), silence(20 * ms),
		tone(20000, 5*ms),
	}
	path := filepath.Join(t.TempDir(), "music.pool")
	var text strings.Builder
	if err := sequence.WritePool(&text, steps); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text.String()), 0o640); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	loaded, warnings, err := sequence.LoadPool(f, sequence.PoolOptions{})
	if err != nil || len(warnings) > 0 {
		t.Fatalf("loading the pool back: %v, warnings %q", err, warnings)
	}
	return sequence.Compile(loaded)
}

// A refusalCase is a command line beep 1.4 does not play: it exits at
// once, with its usage or without, or prints its help or version.
type refusalCase struct {
	name string
	args []string // after "-e DEVICE"
	// device is the -e device, the console when "". regularFile names a
	// new empty file instead.
	device      string
	regularFile bool
	code        int  // beep 1.4's exit status
	usage       bool // beep 1.4 prints its usage
	version     bool // beep 1.4 prints its version
}

var refusalCases = []refusalCase{
	{name: "a non-option argument", args: []string{"-l", "3", "foo"}, code: 1, usage: true},
	{name: "an argument after --", args: []string{"-l", "3", "--", "-f"}, code: 1, usage: true},
	{name: "frequency above 20000", args: []string{"-f", "20000.4"}, code: 1, usage: true},
	{name: "negative frequency", args: []string{"-f", "-1"}, code: 1, usage: true},
	{name: "infinite frequency", args: []string{"-f", "inf"}, code: 1, usage: true},
	{name: "frequency not a number", args: []string{"-f", "abc"}, code: 1, usage: true},
	{name: "negative length", args: []string{"-l", "-1"}, code: 1, usage: true},
	{name: "length above 300000", args: []string{"-l", "300001"}, code: 1, usage: true},
	{name: "repetitions above 300000", args: []string{"-r", "300001"}, code: 1, usage: true},
	{name: "-d above 300000", args: []string{"-d", "300001"}, code: 1, usage: true},
	{name: "-D above 300000", args: []string{"-D", "300001"}, code: 1, usage: true},
	{name: "length not a number", args: []string{"-l", "x"}, code: 1, usage: true},
	{name: "a missing value", args: []string{"-l", "3", "-f"}, code: 1, usage: true},
	{name: "an unknown option", args: []string{"-x"}, code: 1, usage: true},
	{name: "an unknown long option", args: []string{"--bogus"}, code: 1, usage: true},
	{name: "an ambiguous long option", args: []string{"--de"}, code: 1, usage: true},
	{name: "--new with a value", args: []string{"--new=3"}, code: 1, usage: true},
	{name: "a bad value before -h", args: []string{"-l", "x", "-h"}, code: 1, usage: true},
	{name: "the device twice", args: []string{"-e", console, "-l", "3"}, code: 1},
	{name: "a device that is not a speaker", device: "/dev/null", args: []string{"-l", "3"}, code: 1},
	{name: "a device that does not exist", device: "/nonexistent/beep", args: []string{"-l", "3"}, code: 1},
	{name: "a regular file as the device", regularFile: true, args: []string{"-l", "3"}, code: 1},
	{name: "-h", args: []string{"-h", "-l", "x"}, usage: true},
	{name: "--help", args: []string{"--help"}, usage: true},
	{name: "-v", args: []string{"-v", "foo"}, version: true},
	{name: "-V", args: []string{"-V"}, version: true},
	{name: "--version", args: []string{"--version"}, version: true},
}

// checkRefusal runs both beeps on tt and compares how they end.
func checkRefusal(t *testing.T, beep, ours string, tt refusalCase) {
	t.Helper()
	device := console
	switch {
	case tt.regularFile:
		device = filepath.Join(t.TempDir(), "not-a-device")
		if err := os.WriteFile(device, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	case tt.device != "":
		device = tt.device
	}
	args := append([]string{"-e", device}, tt.args...)
	theirs := runBeep(t, "", "", beep, args...)
	theirUsage := strings.Contains(theirs.stdout+theirs.stderr, "Usage:")
	theirVersion := strings.HasPrefix(theirs.stdout, "beep 1.4")
	if theirs.code != tt.code || theirUsage != tt.usage || theirVersion != tt.version {
		t.Fatalf("beep 1.4 %q: exit status %d, usage %v, version %v; the case says %d, %v, %v; stdout:\n%s\nstderr:\n%s",
			args, theirs.code, theirUsage, theirVersion, tt.code, tt.usage, tt.version, theirs.stdout, theirs.stderr)
	}

	our := runBeep(t, "", "", ours, args...)
	ourUsage := strings.Contains(our.stdout+our.stderr, "Usage:")
	ourVersion := strings.HasPrefix(our.stdout, "beep 1.4")
	if our.code != theirs.code || ourUsage != theirUsage || ourVersion != theirVersion {
		t.Errorf("our beep %q: exit status %d, usage %v, version %v; beep 1.4: %d, %v, %v; our stdout:\n%s\nour stderr:\n%s",
			args, our.code, ourUsage, ourVersion, theirs.code, theirUsage, theirVersion, our.stdout, our.stderr)
	}
	if tt.code == 0 && strings.Contains(our.stdout, "Usage:") != strings.Contains(theirs.stdout, "Usage:") {
		t.Errorf("our beep %q prints its help to another stream than beep 1.4", args)
	}

	if device != console {
		if info, err := os.Stat(device); err == nil && info.Mode().IsRegular() && info.Size() != 0 {
			t.Errorf("a beep wrote %d bytes to the regular file %s it was given as the device", info.Size(), device)
		}
		return // ParseBeepArgs does not open devices
	}
	cmd, err := sequence.ParseBeepArgs(args)
	var ue *sequence.BeepUsageError
	switch {
	case theirs.code == 0:
		if err != nil || cmd.Help != (theirUsage && !theirVersion) || cmd.Version != theirVersion {
			t.Errorf("ParseBeepArgs(%q) = Help %v, Version %v, error %v; beep 1.4 prints usage %v, version %v and exits 0",
				args, cmd.Help, cmd.Version, err, theirUsage, theirVersion)
		}
	case !errors.As(err, &ue):
		t.Errorf("ParseBeepArgs(%q) error = %v, want a *BeepUsageError: beep 1.4 exits %d", args, err, theirs.code)
	case ue.Usage != theirUsage:
		t.Errorf("ParseBeepArgs(%q) error %v has Usage %v; beep 1.4 prints usage: %v", args, err, ue.Usage, theirUsage)
	}
}
