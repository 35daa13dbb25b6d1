package beepcli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/beeper"
	"github.com/knockbeep/knockbeep/beeper/beepertest"
	"github.com/knockbeep/knockbeep/clock/clocktest"
	"github.com/knockbeep/knockbeep/sequence"
)

const ms = time.Millisecond

// beepRun is one run of beep on a Recorder and a fake clock.
type beepRun struct {
	code           int
	stdout, stderr string
	rec            *beepertest.Recorder
	clock          *clocktest.Fake
	opened         []string // what was opened: "auto", "wav:…", "device …"
}

// heard is what the run played, as tones.
func (b *beepRun) heard() []sequence.Tone { return b.rec.Tones(beepertest.Epoch, b.clock.Now()) }

type runOptions struct {
	stdin    io.Reader
	ctx      context.Context
	ids      [4]int
	openErr  error
	openErrs map[string]error // per spec; overrides openErr
	onSleep  func(cancel context.CancelFunc) func(time.Time)
}

func runBeep(t *testing.T, args []string, o runOptions) *beepRun {
	t.Helper()
	b := &beepRun{clock: clocktest.NewFake(beepertest.Epoch)}
	b.rec = beepertest.NewRecorder(b.clock)
	if o.ids == [4]int{} {
		o.ids = [4]int{1000, 1000, 1000, 1000}
	}
	if o.stdin == nil {
		o.stdin = strings.NewReader("")
	}
	ctx := o.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.onSleep != nil {
		b.clock.OnSleep = o.onSleep(cancel)
	}
	env := Env{
		Open: func(spec string, _ beeper.Options) (beeper.Speaker, error) {
			b.opened = append(b.opened, spec)
			if err, ok := o.openErrs[spec]; ok {
				if err != nil {
					return nil, err
				}
				return b.rec, nil
			}
			if o.openErr != nil {
				return nil, o.openErr
			}
			return b.rec, nil
		},
		OpenDevice: func(path string, _ beeper.Options) (beeper.Speaker, error) {
			b.opened = append(b.opened, "device "+path)
			return b.rec, nil
		},
		Clock:  b.clock,
		Getenv: func(string) string { return "" },
		IDs:    func() (int, int, int, int) { return o.ids[0], o.ids[1], o.ids[2], o.ids[3] },
	}
	var stdout, stderr bytes.Buffer
	b.code = env.Run(ctx, args, o.stdin, &stdout, &stderr)
	b.stdout, b.stderr = stdout.String(), stderr.String()
	return b
}

func tonesDiff(want, got []sequence.Tone) string {
	if fmt.Sprint(want) == fmt.Sprint(got) {
		return ""
	}
	return fmt.Sprintf("-%v\n+%v", want, got)
}

func readSong(t *testing.T, name string) sequence.Song {
	t.Helper()
	s, err := sequence.ReadSongFile(filepath.Join("..", "..", "songs", name))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBeepPlays(t *testing.T) {
	beep := func(f float64, l, d time.Duration) sequence.Tone { return sequence.Tone{Freq: f, Length: l, Delay: d} }
	tests := []struct {
		name string
		args string
		want []sequence.Tone
	}{
		{"no options: one default beep", "", []sequence.Tone{beep(440, 200*ms, 0)}},
		{"-f 0 plays 440", "-f 0", []sequence.Tone{beep(440, 200*ms, 0)}},
		{"the top of the ranges is accepted", "-f 20000 -l 300000", []sequence.Tone{beep(20000, 300000*ms, 0)}},
		{"frequency is rounded", "-f 1000.6 -l 50", []sequence.Tone{beep(1001, 50*ms, 0)}},
		{"-d is between repetitions only", "-f 1000 -r 3 -d 50", []sequence.Tone{beep(1000, 200*ms, 50*ms), beep(1000, 200*ms, 50*ms), beep(1000, 200*ms, 0)}},
		{"-D is after the last too", "-f 1000 -r 2 -D 50", []sequence.Tone{beep(1000, 200*ms, 50*ms), beep(1000, 200*ms, 50*ms)}},
		{"repetitions without -d get the default 100 ms", "-r 2", []sequence.Tone{beep(440, 200*ms, 100*ms), beep(440, 200*ms, 0)}},
		{"-n starts again from the defaults", "-f 392 -l 350 -D 100 -n -f 311", []sequence.Tone{beep(392, 350*ms, 100*ms), beep(311, 200*ms, 0)}},
		{"grouped short options", "-nf 500 -l25", []sequence.Tone{beep(440, 200*ms, 0), beep(500, 25*ms, 0)}},
		{"-r 0 plays nothing", "-r 0", nil},
		{"-l 0 sounds nothing but keeps the delays", "-l 0 -r 3 -d 100 -n -f 880 -l 10", []sequence.Tone{{Delay: 200 * ms}, beep(880, 10*ms, 0)}},
		{"the last -f of a tone wins", "-f 400 -f 500 -l 10", []sequence.Tone{beep(500, 10*ms, 0)}},
		{"--device does not change the tones", "--device=/dev/input/event3 -l 10", []sequence.Tone{beep(440, 10*ms, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := runBeep(t, strings.Fields(tt.args), runOptions{})
			if b.code != 0 {
				t.Fatalf("beep %s: exit %d, stderr:\n%s", tt.args, b.code, b.stderr)
			}
			if d := tonesDiff(tt.want, b.heard()); d != "" {
				t.Errorf("beep %s played (-want +got):\n%s", tt.args, d)
			}
			var length time.Duration
			for _, tone := range tt.want {
				length += tone.Duration()
			}
			if got := b.clock.Now().Sub(beepertest.Epoch); got != length {
				t.Errorf("beep %s took %v, want %v", tt.args, got, length)
			}
			if !b.rec.Silent() {
				t.Error("speaker left sounding")
			}
			if closed, _ := b.rec.Closed(); !closed {
				t.Error("speaker not closed")
			}
		})
	}
}

func TestBeepOpensTheSpeakerOnce(t *testing.T) {
	tests := []struct {
		args  string
		stdin string
		want  string
	}{
		{"-f 100 -n -f 200", "", "auto"},
		{"-e /dev/input/event3 -s", "a\nb\nc\n", "device /dev/input/event3"},
		{"--dev /dev/tty0", "", "device /dev/tty0"},
		{"-e --print", "", "device --print"}, // as getopt reads it: --print is -e's value
		{"--wav out.wav -c", "abc", "wav:out.wav"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			b := runBeep(t, strings.Fields(tt.args), runOptions{stdin: strings.NewReader(tt.stdin)})
			if b.code != 0 {
				t.Fatalf("exit %d: %s", b.code, b.stderr)
			}
			if got := strings.Join(b.opened, ", "); got != tt.want {
				t.Errorf("opened %q, want %q once", got, tt.want)
			}
		})
	}
}

func TestBeepStdin(t *testing.T) {
	long := strings.Repeat("x", 2*4095+1) + "\n" // fgets reads 4095 bytes, 4095, then 2
	tests := []struct {
		name  string
		args  string
		stdin string
		beeps int
	}{
		{"-c beeps per byte, newlines too", "-c -l 10", "ab\ncd\n", 6},
		{"-s beeps per line", "-s -l 10", "ab\ncd\n", 2},
		{"-s counts a last line without newline", "-s -l 10", "ab\ncd", 2},
		{"-s reads lines as beep's 4096-byte fgets does", "-s -l 10", long, 3},
		{"-c beeps per byte, not per character", "-c -l 10", "é\n", 3},
		{"no input, no beep", "-s", "", 0},
		{"a second -s note finds stdin used up", "-s -l 10 -n -s -l 10", "a\nb\n", 2},
		{"notes around a -s note play once", "-l 10 -n -s -l 10 -n -l 10", "a\nb\n", 4},
		{"-r repeats each beep of -s", "-s -l 10 -r 3 -d 5", "a\nb\n", 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := runBeep(t, strings.Fields(tt.args), runOptions{stdin: strings.NewReader(tt.stdin)})
			if b.code != 0 {
				t.Fatalf("exit %d: %s", b.code, b.stderr)
			}
			if got := len(b.heard()); got != tt.beeps {
				t.Errorf("printf %q | beep %s beeped %d times, want %d", tt.stdin, tt.args, got, tt.beeps)
			}
			if b.stdout != tt.stdin {
				t.Errorf("stdout = %q, want stdin copied: %q", b.stdout, tt.stdin)
			}
		})
	}
}

// TestBeepStdinOrder checks that each beep of -s follows the copy of its
// line: the line is on stdout by the time its beep starts.
func TestBeepStdinOrder(t *testing.T) {
	var out bytes.Buffer
	clock := clocktest.NewFake(beepertest.Epoch)
	var seen []string
	rec := &echoCheck{Recorder: beepertest.NewRecorder(clock), out: &out, seen: &seen}
	env := Env{
		Open:  func(string, beeper.Options) (beeper.Speaker, error) { return rec, nil },
		Clock: clock,
		IDs:   func() (int, int, int, int) { return 1, 1, 1, 1 },
	}
	if code := env.Run(context.Background(), []string{"-s", "-l", "10"}, strings.NewReader("one\ntwo\n"), &out, io.Discard); code != 0 {
		t.Fatalf("exit %d", code)
	}
	want := []string{"one\n", "one\ntwo\n"}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("stdout when each beep started (-want +got):\n-%q\n+%q", want, seen)
	}
}

type echoCheck struct {
	*beepertest.Recorder
	out  *bytes.Buffer
	seen *[]string
}

func (e *echoCheck) Tone(f float64) error {
	if f > 0 {
		*e.seen = append(*e.seen, e.out.String())
	}
	return e.Recorder.Tone(f)
}

func TestBeepErrors(t *testing.T) {
	tests := []struct {
		name      string
		args      string
		want      string // in stderr
		wantUsage bool
	}{
		{"frequency out of range", "-f 20001", `argument 2 "20001": -f "20001" is out of range`, true},
		{"negative length", "-l -1", `argument 2 "-1"`, true},
		{"length out of range", "-l 300001", `argument 2 "300001"`, true},
		{"not a number", "-r many", `argument 2 "many"`, true},
		{"operand", "-f 440 now", `argument 3 "now": non-option arguments`, true},
		{"unknown option", "-x", `argument 1 "-x": invalid option`, true},
		{"missing value", "-f", `argument 1 "-f": option requires an argument`, true},
		{"argument numbers count our own options", "--print -f 99999", `argument 3 "99999"`, true},
		{"device twice", "-e /dev/a -e /dev/b", "more than once", false},
		{"--song without a file", "--song", "option --song needs a value", true},
		{"--song with tone options", "--song x.beep -f 440", "--song plays the file's tones: it cannot be combined with tone options", true},
		{"--song with -s", "--song x.beep -s", "cannot be combined with tone options", true},
		{"--song file missing", "--song no-such-song.beep", "no-such-song.beep: no such file or directory; nor is \"no-such-song.beep\" an embedded song (fur-elise, imperial-march,", false},
		{"--print with -e", "--print -e /dev/tty0", "--print plays nothing", true},
		{"--print with -c", "--print -c", "--print cannot print -s or -c", true},
		{"--wav with -e", "--wav x.wav -e /dev/tty0", "cannot be combined with -e", true},
		{"--wav-rate alone", "--wav-rate 8000", "--wav-rate needs --wav", true},
		{"--wav-rate not a number", "--wav x.wav --wav-rate fast", `--wav-rate "fast": not a whole number`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := runBeep(t, strings.Fields(tt.args), runOptions{})
			if b.code != 1 {
				t.Errorf("beep %s: exit %d, want 1", tt.args, b.code)
			}
			if !strings.Contains(b.stderr, tt.want) || !strings.HasPrefix(b.stderr, "beep: Error: ") {
				t.Errorf("stderr lacks %q:\n%s", tt.want, b.stderr)
			}
			if got := strings.Contains(b.stderr, "Usage:"); got != tt.wantUsage {
				t.Errorf("usage printed: %v, want %v", got, tt.wantUsage)
			}
			if len(b.rec.Calls()) != 0 || len(b.opened) != 0 {
				t.Errorf("a refused command opened %v and played %v", b.opened, b.rec.Calls())
			}
		})
	}
}

func TestBeepHelpVersionWarnings(t *testing.T) {
	tests := []struct {
		args       string
		wantStdout string
		wantStderr string
		wantBeeps  int
	}{
		{"-h", Usage, "", 0},
		{"--help -f 99999", Usage, "", 0},
		{"-v", VersionText(), "", 0},
		{"-V", VersionText(), "", 0},
		{"--version", VersionText(), "", 0},
		{"-f 400 -f 500 -l 10", "", "beep: Warning: -f 500: multiple -f values given, only last one is used\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			b := runBeep(t, strings.Fields(tt.args), runOptions{})
			if b.code != 0 || b.stdout != tt.wantStdout || b.stderr != tt.wantStderr || len(b.heard()) != tt.wantBeeps {
				t.Errorf("beep %s: exit %d, %d beeps, stdout %q, stderr %q; want 0, %d, %q, %q",
					tt.args, b.code, len(b.heard()), firstLine(b.stdout), b.stderr, tt.wantBeeps, firstLine(tt.wantStdout), tt.wantStderr)
			}
		})
	}
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }

func TestBeepRefusesSetuid(t *testing.T) {
	tests := []struct {
		name string
		ids  [4]int
		want int
	}{
		{"ordinary user", [4]int{1000, 1000, 1000, 1000}, 0},
		{"root", [4]int{0, 0, 0, 0}, 0},
		{"setuid root", [4]int{1000, 0, 1000, 1000}, 1},
		{"setgid", [4]int{1000, 1000, 1000, 5}, 1},
		{"setuid to another user", [4]int{0, 1000, 0, 0}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := runBeep(t, []string{"-l", "10"}, runOptions{ids: tt.ids})
			if b.code != tt.want {
				t.Errorf("exit %d, want %d; stderr: %s", b.code, tt.want, b.stderr)
			}
			if tt.want == 1 && (!strings.Contains(b.stderr, "setuid or setgid") || len(b.opened) > 0) {
				t.Errorf("refusal did not explain itself or still opened %v: %s", b.opened, b.stderr)
			}
		})
	}
}

// TestBeepFallsBackToTheConsole: with no tone device, auto finds nothing,
// and beep 1.4 still beeps on the console (silently) and exits 0.
func TestBeepFallsBackToTheConsole(t *testing.T) {
	b := runBeep(t, []string{"-f", "1000", "-l", "50"}, runOptions{openErrs: map[string]error{
		"auto":    errors.New("beeper: auto: no speaker found (evdev: none)"),
		"console": nil,
	}})
	if b.code != 0 || fmt.Sprint(b.opened) != "[auto console]" {
		t.Errorf("exit %d, opened %v; want 0 and [auto console]; stderr %q", b.code, b.opened, b.stderr)
	}
	if diff := tonesDiff([]sequence.Tone{{Freq: 1000, Length: 50 * ms}}, b.heard()); diff != "" {
		t.Errorf("tones on the console (-want +got):\n%s", diff)
	}
}

// TestBeepTopRepeats: -r takes up to 300000, as beep 1.4 does.
func TestBeepTopRepeats(t *testing.T) {
	b := runBeep(t, []string{"--print", "-f", "1000", "-l", "1", "-r", "300000", "-d", "0"}, runOptions{})
	if b.code != 0 || strings.TrimSpace(b.stdout) != "-f 1000 -l 1 -r 300000 -d 0" {
		t.Errorf("exit %d, printed %q; want 0 and the same tone repeated 300000 times\nstderr: %s", b.code, b.stdout, b.stderr)
	}
}

func TestBeepNoSpeaker(t *testing.T) {
	b := runBeep(t, nil, runOptions{openErr: errors.New("beeper: auto: no speaker found (evdev: none)")})
	if b.code != 1 || !strings.Contains(b.stderr, "beep: Error: beeper: auto: no speaker found (evdev: none); to render instead, use --wav FILE.wav") {
		t.Errorf("exit %d, stderr %q; want 1 and the reason with a way out", b.code, b.stderr)
	}
}

func TestBeepStopsOnCancel(t *testing.T) {
	for sleep := 1; sleep <= 3; sleep++ {
		t.Run(fmt.Sprintf("during sleep %d", sleep), func(t *testing.T) {
			n := 0
			b := runBeep(t, []string{"-r", "5"}, runOptions{onSleep: func(cancel context.CancelFunc) func(time.Time) {
				return func(time.Time) {
					if n++; n == sleep {
						cancel()
					}
				}
			}})
			if b.code != 1 || b.stderr != "" {
				t.Errorf("exit %d, stderr %q; want 1 and nothing said", b.code, b.stderr)
			}
			if !b.rec.Silent() {
				t.Error("speaker left sounding")
			}
			if closed, _ := b.rec.Closed(); !closed {
				t.Error("speaker not closed")
			}
		})
	}
}

// TestBeepStopsWhileWaitingForInput cancels beep -s while stdin has
// nothing to read: beep must not hang until input comes.
func TestBeepStopsWhileWaitingForInput(t *testing.T) {
	stdin, w := io.Pipe()
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		w.Write([]byte("first\n"))
		cancel()
	}()
	b := runBeep(t, []string{"-s"}, runOptions{stdin: stdin, ctx: ctx})
	if b.code != 1 {
		t.Errorf("exit %d, want 1", b.code)
	}
}

func TestBeepLogLevel(t *testing.T) {
	tests := []struct {
		args, env string
		wantInfo  bool
	}{
		{"", "", false},
		{"--verbose", "", true},
		{"--debug", "", true},
		{"", "1", true},
		{"", "-1", false},
		{"--verbose", "-1", false},
		{"", "loud", false}, // not a number: ignored, as beep does
	}
	for _, tt := range tests {
		t.Run(tt.args+" BEEP_LOG_LEVEL="+tt.env, func(t *testing.T) {
			// Rendering a WAV file logs, at info level, the file written.
			args := append(strings.Fields(tt.args), "-l", "1", "--wav", filepath.Join(t.TempDir(), "x.wav"))
			var stderr bytes.Buffer
			env := Env{
				Getenv: func(k string) string { return map[string]string{"BEEP_LOG_LEVEL": tt.env}[k] },
				IDs:    func() (int, int, int, int) { return 1, 1, 1, 1 },
			}
			if code := env.Run(context.Background(), args, strings.NewReader(""), io.Discard, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if got := strings.Contains(stderr.String(), "beep: Info: "); got != tt.wantInfo {
				t.Errorf("info messages shown: %v, want %v:\n%s", got, tt.wantInfo, stderr.String())
			}
		})
	}
}

// TestBeepSongs plays the songs shipped in songs/: what beep plays is
// what the song file says, whether beep reads the file or, given the
// song's name where no file has it, the copy embedded in the binary.
func TestBeepSongs(t *testing.T) {
	var files []string
	for _, ext := range []string{"beep", "rtttl", "mml"} {
		f, _ := filepath.Glob(filepath.Join("..", "..", "songs", "*."+ext))
		files = append(files, f...)
	}
	if len(files) == 0 {
		t.Fatal("no songs in songs/")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			song := readSong(t, filepath.Base(file))
			b := runBeep(t, []string{"--song", file}, runOptions{})
			if b.code != 0 {
				t.Fatalf("exit %d: %s", b.code, b.stderr)
			}
			if d := tonesDiff(beepertest.Heard(song.Tones), b.heard()); d != "" {
				t.Errorf("played (-want +got):\n%s", d)
			}
			t.Chdir(t.TempDir()) // no song file of that name here
			name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
			b = runBeep(t, []string{"--song", name}, runOptions{})
			if b.code != 0 {
				t.Fatalf("beep --song %s: exit %d: %s", name, b.code, b.stderr)
			}
			if d := tonesDiff(beepertest.Heard(song.Tones), b.heard()); d != "" {
				t.Errorf("beep --song %s played (-want +got):\n%s", name, d)
			}
			if !strings.Contains(Usage, name) {
				t.Errorf("the usage text does not name the embedded song %q", name)
			}
		})
	}
}

// TestBeepPrint checks that --print prints arguments that beep plays just
// like the original: the song files, and a beep command line.
func TestBeepPrint(t *testing.T) {
	tests := [][]string{
		{"--song", filepath.Join("..", "..", "songs", "imperial-march.beep")},
		{"--song", filepath.Join("..", "..", "songs", "fur-elise.rtttl")},
		{"-f", "392", "-l", "350", "-r", "3", "-D", "100", "-n", "-f", "311.1", "-l", "250", "-d", "7", "-r", "2"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			printed := runBeep(t, append([]string{"--print"}, args...), runOptions{})
			if printed.code != 0 || len(printed.opened) != 0 || len(printed.rec.Calls()) != 0 {
				t.Fatalf("--print: exit %d, opened %v, played %d calls; want 0 and nothing played: %s",
					printed.code, printed.opened, len(printed.rec.Calls()), printed.stderr)
			}
			if !strings.HasSuffix(printed.stdout, "\n") || strings.Count(printed.stdout, "\n") != 1 {
				t.Errorf("--print output is not one line: %q", printed.stdout)
			}
			// beep's arguments are whole hertz and milliseconds: the
			// printed ones play each tone within that of the original,
			// and the song ends within a millisecond of it.
			again := runBeep(t, strings.Fields(printed.stdout), runOptions{})
			original := runBeep(t, args, runOptions{})
			want, got := original.heard(), again.heard()
			if len(want) != len(got) {
				t.Fatalf("beep %s plays %d tones, the original %d", printed.stdout, len(got), len(want))
			}
			for i := range want {
				w, g := want[i], got[i]
				if math.Abs(w.Freq-g.Freq) > 0.5 || (w.Length-g.Length).Abs() > ms || (w.Delay-g.Delay).Abs() > ms {
					t.Errorf("tone %d (-original +printed):\n-%v\n+%v", i+1, w, g)
				}
			}
			if d := (original.clock.Now().Sub(again.clock.Now())).Abs(); d > ms {
				t.Errorf("the printed song ends %v away from the original", d)
			}
		})
	}
}

// TestBeepWAV renders to a real WAV file and decodes it.
func TestBeepWAV(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  []sequence.Tone
	}{
		{
			name: "tones",
			args: []string{"-f", "1000", "-l", "100", "-r", "2", "-d", "50", "-n", "-f", "523.25", "-l", "30"},
			want: []sequence.Tone{{Freq: 1000, Length: 100 * ms, Delay: 50 * ms}, {Freq: 1000, Length: 100 * ms}, {Freq: 523, Length: 30 * ms}},
		},
		{
			name:  "-s input goes into the one file",
			args:  []string{"-s", "-f", "2000", "-l", "20", "-D", "30"},
			stdin: "a\nb\n",
			want:  []sequence.Tone{{Freq: 2000, Length: 20 * ms, Delay: 30 * ms}, {Freq: 2000, Length: 20 * ms, Delay: 30 * ms}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "beep.wav")
			var stdout, stderr bytes.Buffer
			env := Env{IDs: func() (int, int, int, int) { return 1, 1, 1, 1 }}
			args := append([]string{"--wav", path, "--wav-rate", "44100"}, tt.args...)
			if code := env.Run(context.Background(), args, strings.NewReader(tt.stdin), &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			w, err := beepertest.ReadWAVFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if w.Rate != 44100 {
				t.Errorf("rate %d, want --wav-rate's 44100", w.Rate)
			}
			got := beepertest.SegmentsToTones(w.Segments())
			if len(got) != len(tt.want) {
				t.Fatalf("decoded (-want +got):\n-%v\n+%v", tt.want, got)
			}
			for i, want := range tt.want {
				g := got[i]
				if d := g.Freq - want.Freq; d > want.Freq*0.005 || -d > want.Freq*0.005 ||
					(g.Length-want.Length).Abs() > ms || (g.Delay-want.Delay).Abs() > ms {
					t.Errorf("tone %d (-want +got):\n-%v\n+%v", i, want, g)
				}
			}
			if stdout.String() != tt.stdin {
				t.Errorf("stdout %q, want stdin copied", stdout.String())
			}
		})
	}
}

// TestBeepWAVTooLong: a song longer than a WAV file can describe is
// refused before anything is written (it used to write 4 GB, then fail
// and leave the file behind).
func TestBeepWAVTooLong(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"beep 1.4's top length and repeats", []string{"-l", "300000", "-r", "300000"}, "longer than a WAV file holds at 32000 Hz"},
		{"delays count too", []string{"-l", "1", "-D", "300000", "-r", "300000"}, "longer than a WAV file holds"},
		{"many notes add up", strings.Fields(strings.Repeat("-l 300000 -r 300000 -n ", 60) + "-l 1"), "longer than a WAV file holds"},
		{"at a higher rate the limit is lower", []string{"--wav-rate", "192000", "-l", "300000", "-r", "100"}, "at 192000 Hz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "long.wav")
			var stdout, stderr bytes.Buffer
			env := Env{IDs: func() (int, int, int, int) { return 1, 1, 1, 1 }}
			code := env.Run(context.Background(), append([]string{"--wav", path}, tt.args...), strings.NewReader(""), &stdout, &stderr)
			if code != 1 || !strings.Contains(stderr.String(), tt.wantErr) || !strings.Contains(stderr.String(), "nothing written") {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, stderr.String(), tt.wantErr)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Fatalf("%s was written: %v", path, err)
			}
		})
	}
	t.Run("the longest that fits is accepted", func(t *testing.T) {
		if got := notesLength([]sequence.BeepNote{{Length: 300 * time.Second, Reps: 3, Delay: 100 * ms}}); got != 900*time.Second+200*ms {
			t.Fatalf("notesLength = %v, want 15m0.2s (-d: no delay after the last)", got)
		}
		if got := notesLength([]sequence.BeepNote{{Length: 300 * time.Second, Reps: 3, Delay: 100 * ms, DelayAfterLast: true}}); got != 900*time.Second+300*ms {
			t.Fatalf("notesLength = %v, want 15m0.3s (-D: a delay after each)", got)
		}
	})
}
