package command

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/clock/clocktest"
	"github.com/knockbeep/knockbeep/internal/logtest"
	"github.com/knockbeep/knockbeep/knock"
)

// testStart is the fake clock's time at the start of every test.
var testStart = time.Date(2024, 5, 4, 12, 0, 0, 0, time.UTC)

// waitTimers waits until n timers are pending: the Runner arms a stop
// command's timer when its start command has finished.
func waitTimers(t *testing.T, clk *clocktest.Fake, n int) {
	t.Helper()
	if !clk.WaitPending(n, 20*time.Second) {
		t.Fatalf("timed out waiting for %d pending timers; %d are", n, clk.Pending())
	}
}

// eventually polls cond for up to 20 seconds: commands are real processes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testContext bounds a Shutdown that should return at once, so that a
// Runner that loses a command fails the test instead of hanging it.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newTestRunner returns a Runner on a fake clock, logging into a buffer,
// and shuts it down at the end of the test.
func newTestRunner(t *testing.T) (*Runner, *clocktest.Fake, *logtest.Buffer) {
	t.Helper()
	clock := clocktest.NewFake(testStart)
	logger, logs := logtest.New(t)
	r := NewRunner(Options{Clock: clock, Logger: logger})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := r.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return r, clock, logs
}

// appendLine is an argv (no shell of ours: sh is the program, the words
// are its arguments) that appends its words, joined by spaces, as one line
// to file.
func appendLine(file string, words ...string) knock.Command {
	return knock.Command{Argv: append([]string{"/bin/sh", "-c", `f=$1; shift; printf '%s\n' "$*" >> "$f"`, "sh", file}, words...)}
}

func readLines(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	// Only complete lines: a command may be between creating the file and
	// writing its line.
	text := string(b)
	text = text[:strings.LastIndexByte(text, '\n')+1]
	if text == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}

func waitLines(t *testing.T, file string, n int) []string {
	t.Helper()
	eventually(t, fmt.Sprintf("%d lines in %s", n, filepath.Base(file)), func() bool { return len(readLines(t, file)) >= n })
	return readLines(t, file)
}

func event(src string, proto knock.Proto, port uint16) knock.Event {
	return knock.Event{Src: netip.MustParseAddr(src), Proto: proto, Port: port, Flags: knock.SYN}
}

func diffLines(want, got []string) string {
	if slices.Equal(want, got) {
		return ""
	}
	return fmt.Sprintf("-want %q\n+got  %q", want, got)
}

func TestPlaceholders(t *testing.T) {
	tests := []struct {
		name  string
		door  string
		ev    knock.Event
		words []string
		want  string
	}{
		{"ipv4 tcp", "ssh", event("192.0.2.7", knock.TCP, 7000),
			[]string{"%IP%", "%PORT%", "%PROTO%", "%DOOR%"}, "192.0.2.7 7000 tcp ssh"},
		{"ipv6 udp, zone removed", "web", event("fe80::1%eth0", knock.UDP, 53),
			[]string{"%IP%", "%PORT%", "%PROTO%", "%DOOR%"}, "fe80::1 53 udp web"},
		{"inside a word, twice", "ssh", event("198.51.100.2", knock.TCP, 1),
			[]string{"--src=%IP%/32,%IP%", "x%PORT%x"}, "--src=198.51.100.2/32,198.51.100.2 x1x"},
		{"unknown placeholder kept", "ssh", event("192.0.2.7", knock.TCP, 1),
			[]string{"%HOST%", "100%"}, "%HOST% 100%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _, _ := newTestRunner(t)
			out := filepath.Join(t.TempDir(), "out")
			r.Open(knock.Door{Name: tt.door, Start: appendLine(out, tt.words...)}, tt.ev)
			if diff := diffLines([]string{tt.want}, waitLines(t, out, 1)); diff != "" {
				t.Errorf("command line (-want +got):\n%s", diff)
			}
		})
	}
}

// TestArgvIsNotShell: in argv mode a value is one argument, never shell
// syntax; in shell mode the string is a shell script.
func TestArgvIsNotShell(t *testing.T) {
	dir := t.TempDir()
	r, _, _ := newTestRunner(t)
	argvOut := filepath.Join(dir, "argv")
	r.Open(knock.Door{Name: "argv", Start: appendLine(argvOut, "%IP%;", "$(touch "+filepath.Join(dir, "pwned")+")", "`id`")},
		event("192.0.2.1", knock.TCP, 1))
	if diff := diffLines([]string{"192.0.2.1; $(touch " + filepath.Join(dir, "pwned") + ") `id`"}, waitLines(t, argvOut, 1)); diff != "" {
		t.Errorf("argv command (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Errorf("argv mode ran shell syntax from an argument")
	}

	shellOut := filepath.Join(dir, "shell")
	r.Open(knock.Door{Name: "shell", Start: knock.Command{Shell: true,
		Argv: []string{"echo %IP% > " + shellOut + "; echo $KNOCK_DOOR $KNOCK_PORT >> " + shellOut}}},
		event("2001:db8::5", knock.TCP, 22))
	if diff := diffLines([]string{"2001:db8::5", "shell 22"}, waitLines(t, shellOut, 2)); diff != "" {
		t.Errorf("shell command (-want +got):\n%s", diff)
	}
}

// TestCleanEnvironment: a command sees PATH and the KNOCK_ variables only.
func TestCleanEnvironment(t *testing.T) {
	t.Setenv("KNOCKBEEP_TEST_SECRET", "leaked")
	r, _, _ := newTestRunner(t)
	out := filepath.Join(t.TempDir(), "env")
	r.Open(knock.Door{Name: "env", Start: knock.Command{Argv: []string{"/bin/sh", "-c", `env | grep -v '^PWD=' | grep -v '^SHLVL=' | grep -v '^_=' | sort > "$0"`, out}}},
		event("192.0.2.9", knock.UDP, 9))
	got := waitLines(t, out, 5)
	want := []string{"KNOCK_DOOR=env", "KNOCK_IP=192.0.2.9", "KNOCK_PORT=9", "KNOCK_PROTO=udp", "PATH=" + commandPath()}
	if diff := diffLines(want, got); diff != "" {
		t.Errorf("environment (-want +got):\n%s", diff)
	}
}

// TestOrderPerDoor is knockd's "command order" bug: 200 alternating knocks
// on two one-port doors; each door's commands must run in knock order.
func TestOrderPerDoor(t *testing.T) {
	dir := t.TempDir()
	r, _, _ := newTestRunner(t)
	outA, outB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	doorA := knock.Door{Name: "a", Start: appendLine(outA, "%PORT%")}
	doorB := knock.Door{Name: "b", Start: appendLine(outB, "%PORT%")}
	var wantA, wantB []string
	for i := range 200 {
		port := uint16(1000 + i)
		if i%2 == 0 {
			r.Open(doorA, event("192.0.2.1", knock.TCP, port))
			wantA = append(wantA, fmt.Sprint(port))
		} else {
			r.Open(doorB, event("192.0.2.1", knock.TCP, port))
			wantB = append(wantB, fmt.Sprint(port))
		}
	}
	if err := r.Shutdown(testContext(t)); err != nil {
		t.Fatal(err)
	}
	if diff := diffLines(wantA, readLines(t, outA)); diff != "" {
		t.Errorf("door a (-want +got):\n%s", diff)
	}
	if diff := diffLines(wantB, readLines(t, outB)); diff != "" {
		t.Errorf("door b (-want +got):\n%s", diff)
	}
	if got := r.Stats().Succeeded; got != 200 {
		t.Errorf("Stats().Succeeded = %d, want 200", got)
	}
}

// TestDoorsRunConcurrently: a slow command holds up its own door only.
func TestDoorsRunConcurrently(t *testing.T) {
	dir := t.TempDir()
	r, _, _ := newTestRunner(t)
	release := filepath.Join(dir, "release")
	slowOut, fastOut := filepath.Join(dir, "slow"), filepath.Join(dir, "fast")
	slow := knock.Door{Name: "slow", Start: knock.Command{Argv: []string{"/bin/sh", "-c",
		`while [ ! -e "$0" ]; do sleep 0.01; done; echo done > "$1"`, release, slowOut}}}
	r.Open(slow, event("192.0.2.1", knock.TCP, 1))
	r.Open(knock.Door{Name: "fast", Start: appendLine(fastOut, "ran")}, event("192.0.2.1", knock.TCP, 2))
	waitLines(t, fastOut, 1)
	if lines := readLines(t, slowOut); lines != nil {
		t.Fatalf("slow door finished before it was released: %q", lines)
	}
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitLines(t, slowOut, 1)
}

func TestNoDuplicateOpen(t *testing.T) {
	r, clock, _ := newTestRunner(t)
	out := filepath.Join(t.TempDir(), "fw")
	door := knock.Door{Name: "ssh", StopDelay: 10 * time.Second,
		Start: appendLine(out, "add", "%IP%"), Stop: appendLine(out, "del", "%IP%")}

	r.Open(door, event("192.0.2.1", knock.TCP, 22))
	r.Open(door, event("192.0.2.1", knock.TCP, 22)) // still queued or running: already open
	waitTimers(t, clock, 1)
	r.Open(door, event("192.0.2.1", knock.TCP, 22)) // start done, stop pending: already open
	r.Open(door, event("192.0.2.2", knock.TCP, 22)) // another source opens
	waitTimers(t, clock, 2)
	if got := r.Stats(); got.AlreadyOpen != 2 || got.Open != 2 {
		t.Errorf("Stats() = %+v, want AlreadyOpen 2 and Open 2", got)
	}

	clock.Advance(9 * time.Second)
	if lines := readLines(t, out); len(lines) != 2 {
		t.Fatalf("before cmd_timeout: %q, want the two adds only", lines)
	}
	clock.Advance(time.Second)
	waitLines(t, out, 4)
	r.Open(door, event("192.0.2.1", knock.TCP, 22)) // closed again: opens
	want := []string{"add 192.0.2.1", "add 192.0.2.2", "del 192.0.2.1", "del 192.0.2.2", "add 192.0.2.1"}
	if diff := diffLines(want, waitLines(t, out, 5)); diff != "" {
		t.Errorf("firewall commands (-want +got):\n%s", diff)
	}
}

// TestReopen: with Reopen every Open runs the start command and gets its
// own stop command, so a firewall with duplicate rules gets as many deletes.
func TestReopen(t *testing.T) {
	r, clock, _ := newTestRunner(t)
	out := filepath.Join(t.TempDir(), "fw")
	door := knock.Door{Name: "ssh", StopDelay: 10 * time.Second, Reopen: true,
		Start: appendLine(out, "add", "%IP%"), Stop: appendLine(out, "del", "%IP%")}
	r.Open(door, event("192.0.2.1", knock.TCP, 22))
	r.Open(door, event("192.0.2.1", knock.TCP, 22))
	waitTimers(t, clock, 2)
	clock.Advance(10 * time.Second)
	want := []string{"add 192.0.2.1", "add 192.0.2.1", "del 192.0.2.1", "del 192.0.2.1"}
	if diff := diffLines(want, waitLines(t, out, 4)); diff != "" {
		t.Errorf("firewall commands (-want +got):\n%s", diff)
	}
	if got := r.Stats().AlreadyOpen; got != 0 {
		t.Errorf("Stats().AlreadyOpen = %d, want 0", got)
	}
}

// TestNoStopNoOpenState: a door without a stop command runs its start
// command on every Open, like knockd's one-port doors.
func TestNoStopNoOpenState(t *testing.T) {
	r, _, _ := newTestRunner(t)
	out := filepath.Join(t.TempDir(), "out")
	door := knock.Door{Name: "ping", Start: appendLine(out, "%IP%")}
	for range 3 {
		r.Open(door, event("192.0.2.1", knock.TCP, 1))
	}
	if diff := diffLines([]string{"192.0.2.1", "192.0.2.1", "192.0.2.1"}, waitLines(t, out, 3)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestShutdownRunsPendingStops is knockd's SIGTERM bug: stop commands
// pending at shutdown run before Shutdown returns, without waiting for
// their cmd_timeout, including the stop of a start still running.
func TestShutdownRunsPendingStops(t *testing.T) {
	dir := t.TempDir()
	r, clock, _ := newTestRunner(t)
	out := filepath.Join(dir, "fw")
	door := knock.Door{Name: "ssh", StopDelay: time.Hour,
		Start: appendLine(out, "add", "%IP%"), Stop: appendLine(out, "del", "%IP%")}
	for _, src := range []string{"192.0.2.1", "192.0.2.2", "2001:db8::1"} {
		r.Open(door, event(src, knock.TCP, 22))
	}
	waitTimers(t, clock, 3)

	release := filepath.Join(dir, "release")
	slowOut := filepath.Join(dir, "slow")
	slow := knock.Door{Name: "slow", StopDelay: time.Hour,
		Start: knock.Command{Argv: []string{"/bin/sh", "-c", `while [ ! -e "$0" ]; do sleep 0.01; done; echo add >> "$1"`, release, slowOut}},
		Stop:  appendLine(slowOut, "del")}
	r.Open(slow, event("192.0.2.3", knock.TCP, 22))

	done := make(chan error, 1)
	go func() { done <- r.Shutdown(testContext(t)) }()
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) while a start command was still running", err)
	case <-time.After(100 * time.Millisecond):
	}
	r.Open(door, event("192.0.2.9", knock.TCP, 22)) // refused: shutting down
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	want := []string{"add 192.0.2.1", "add 192.0.2.2", "add 2001:db8::1", "del 192.0.2.1", "del 192.0.2.2", "del 2001:db8::1"}
	got := readLines(t, out)
	if len(got) != len(want) {
		t.Fatalf("firewall commands: -want %q\n+got %q", want, got)
	}
	slices.Sort(got[3:]) // the order of stops queued together is the map's
	if diff := diffLines(want, got); diff != "" {
		t.Errorf("firewall commands (-want +got):\n%s", diff)
	}
	if diff := diffLines([]string{"add", "del"}, readLines(t, slowOut)); diff != "" {
		t.Errorf("slow door (-want +got):\n%s", diff)
	}
	if got := r.Stats(); got.Refused != 1 || got.Open != 0 || got.Lost != 0 {
		t.Errorf("Stats() = %+v, want Refused 1, Open 0, Lost 0", got)
	}
}

// TestShutdownGivesUp: when Shutdown's context ends, the running command is
// killed and the queued ones are logged as not run.
func TestShutdownGivesUp(t *testing.T) {
	r, clock, logs := newTestRunner(t)
	out := filepath.Join(t.TempDir(), "fw")
	door := knock.Door{Name: "ssh", StopDelay: time.Hour,
		Start: appendLine(out, "add"), Stop: knock.Command{Argv: []string{"sleep", "60"}}}
	r.Open(door, event("192.0.2.1", knock.TCP, 22))
	r.Open(door, event("192.0.2.2", knock.TCP, 22))
	waitTimers(t, clock, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	began := time.Now()
	if err := r.Shutdown(ctx); err == nil {
		t.Fatal("Shutdown = nil, want an error: a stop command cannot finish")
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("Shutdown took %v after its context ended", took)
	}
	if got := r.Stats(); got.Lost != 1 || got.Failed != 1 {
		t.Errorf("Stats() = %+v, want Lost 1 (queued) and Failed 1 (killed)", got)
	}
	var notRun int
	for _, rec := range logs.Records(t) {
		if strings.HasPrefix(rec["msg"].(string), "command: not run") {
			notRun++
		}
	}
	if notRun != 1 {
		t.Errorf("%d \"not run\" log records, want 1", notRun)
	}
}

func TestIPv6Commands(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		start6   bool
		stop6    bool
		wantLine []string
	}{
		{"ipv4 uses the v4 commands", "192.0.2.1", true, true, []string{"start4", "stop4"}},
		{"ipv6 uses the v6 commands", "2001:db8::1", true, true, []string{"start6", "stop6"}},
		{"ipv6 falls back to the v4 commands", "2001:db8::1", false, false, []string{"start4", "stop4"}},
		{"ipv6 falls back per command", "2001:db8::1", true, false, []string{"start6", "stop4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, clock, _ := newTestRunner(t)
			out := filepath.Join(t.TempDir(), "out")
			door := knock.Door{Name: "d", StopDelay: time.Second, Start: appendLine(out, "start4"), Stop: appendLine(out, "stop4")}
			if tt.start6 {
				door.Start6 = appendLine(out, "start6")
			}
			if tt.stop6 {
				door.Stop6 = appendLine(out, "stop6")
			}
			r.Open(door, event(tt.src, knock.TCP, 1))
			waitTimers(t, clock, 1)
			clock.Advance(time.Second)
			if diff := diffLines(tt.wantLine, waitLines(t, out, 2)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestOutputLogged(t *testing.T) {
	r, _, logs := newTestRunner(t)
	r.Open(knock.Door{Name: "noisy", Start: knock.Command{Shell: true,
		Argv: []string{"echo first; echo oops >&2; printf 'no newline'; exit 3"}}},
		event("192.0.2.1", knock.TCP, 1))
	if err := r.Shutdown(testContext(t)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rec := range logs.Records(t) {
		switch rec["msg"] {
		case "command: output":
			got = append(got, fmt.Sprintf("%s %s %s: %s", rec["door"], rec["src"], rec["stream"], rec["line"]))
		case "command: failed":
			got = append(got, fmt.Sprintf("%s exit %v", rec["door"], rec["exit"]))
		}
	}
	if len(got) != 4 {
		t.Fatalf("log: got %q, want 3 output lines and the exit status", got)
	}
	slices.Sort(got[:3]) // stdout and stderr are read concurrently
	want := []string{
		"noisy 192.0.2.1 stderr: oops",
		"noisy 192.0.2.1 stdout: first",
		"noisy 192.0.2.1 stdout: no newline",
		"noisy exit 3",
	}
	if diff := diffLines(want, got); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	if got := r.Stats(); got.Failed != 1 || got.Succeeded != 0 {
		t.Errorf("Stats() = %+v, want Failed 1", got)
	}
}

func TestLongOutputLineSplit(t *testing.T) {
	logger, logs := logtest.New(t)
	l := outputLogger(logger, nil)
	long := strings.Repeat("x", maxLogLine+10)
	fmt.Fprintf(l, "%s\nshort\r\n", long)
	l.Flush()
	var got []int
	for _, rec := range logs.Records(t) {
		got = append(got, len(rec["line"].(string)))
	}
	if want := []int{maxLogLine, 10, 5}; !slices.Equal(want, got) {
		t.Errorf("logged line lengths: -want %v +got %v", want, got)
	}
}

func TestCommandTimeout(t *testing.T) {
	clock := clocktest.NewFake(testStart)
	r := NewRunner(Options{Clock: clock})
	out := filepath.Join(t.TempDir(), "after")
	// The shell's child sleep must die too: it belongs to the process group.
	r.Open(knock.Door{Name: "hang", CommandTimeout: 200 * time.Millisecond,
		Start: knock.Command{Shell: true, Argv: []string{"sleep 30; echo late > " + out}}},
		event("192.0.2.1", knock.TCP, 1))
	r.Open(knock.Door{Name: "hang", CommandTimeout: 200 * time.Millisecond, Start: appendLine(out, "next")}, event("192.0.2.1", knock.TCP, 1))
	began := time.Now()
	if err := r.Shutdown(testContext(t)); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("a hung command held the door for %v", took)
	}
	if diff := diffLines([]string{"next"}, readLines(t, out)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := r.Stats(); got.TimedOut != 1 || got.Failed != 1 || got.Succeeded != 1 {
		t.Errorf("Stats() = %+v, want TimedOut 1, Failed 1, Succeeded 1", got)
	}
}

// Each door's commands get the door's CommandTimeout (command_timeout);
// 0 is no limit (as knockd).
func TestCommandTimeoutPerDoor(t *testing.T) {
	dir := t.TempDir()
	logger, logs := logtest.New(t)
	r := NewRunner(Options{Clock: clocktest.NewFake(testStart), Logger: logger})
	slow := func(word string) knock.Command {
		return knock.Command{Shell: true, Argv: []string{"sleep 0.5; echo " + word + " >> " + filepath.Join(dir, word)}}
	}
	timeouts := map[string]time.Duration{"default": 100 * time.Millisecond, "unlimited": 0, "longer": 30 * time.Second}
	for _, name := range []string{"default", "unlimited", "longer"} {
		r.Open(knock.Door{Name: name, CommandTimeout: timeouts[name], Start: slow(name)}, event("192.0.2.1", knock.TCP, 1))
	}
	if err := r.Shutdown(testContext(t)); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]string{"default": nil, "unlimited": {"unlimited"}, "longer": {"longer"}} {
		if diff := diffLines(want, readLines(t, filepath.Join(dir, name))); diff != "" {
			t.Errorf("door %q wrote (-want +got):\n%s", name, diff)
		}
	}
	if got := r.Stats(); got.TimedOut != 1 || got.Succeeded != 2 {
		t.Errorf("Stats() = %+v, want TimedOut 1 (the door with the short timeout), Succeeded 2", got)
	}
	var killed []string
	for _, rec := range logs.Records(t) {
		if strings.HasPrefix(rec["msg"].(string), "command: killed") {
			killed = append(killed, fmt.Sprint(rec["door"], " ", time.Duration(rec["timeout"].(float64))))
		}
	}
	if want := []string{"default 100ms"}; !slices.Equal(want, killed) {
		t.Errorf("commands killed (-want +got):\n-%q\n+%q", want, killed)
	}
}

// With KnockdMessages the runner writes knockd's own lines, whole, so
// that filters written for knockd's log (fail2ban's) match them.
func TestKnockdMessages(t *testing.T) {
	clock := clocktest.NewFake(testStart)
	logger, logs := logtest.New(t)
	r := NewRunner(Options{Clock: clock, KnockdMessages: true, Logger: logger})
	out := filepath.Join(t.TempDir(), "fw")
	door := knock.Door{Name: "ssh", StopDelay: 10 * time.Second,
		Start: knock.Command{Shell: true, Argv: []string{"echo open %IP% >> " + out}},
		Stop:  knock.Command{Shell: true, Argv: []string{"echo close %IP% >> " + out}}}
	r.Open(door, event("2001:db8::7", knock.TCP, 9000))
	waitTimers(t, clock, 1)
	clock.Advance(10 * time.Second)
	waitLines(t, out, 2)
	if err := r.Shutdown(testContext(t)); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"ssh: running command: echo open 2001:db8::7 >> " + out,
		"2001:db8::7: ssh: command timeout",
		"ssh: running command: echo close 2001:db8::7 >> " + out,
	}
	var got []string
	for _, rec := range logs.Records(t) {
		msg := rec["msg"].(string)
		if strings.HasPrefix(msg, "command: ") {
			continue // knockbeepd's own lines: output, exit status
		}
		if len(rec) != 3 {
			t.Errorf("knockd's line %q has attributes: %v", msg, rec)
		}
		got = append(got, msg)
	}
	if !slices.Equal(want, got) {
		t.Errorf("knockd's lines (-want +got):\n-%q\n+%q", want, got)
	}
}

func TestCommandNotFound(t *testing.T) {
	r, _, logs := newTestRunner(t)
	r.Open(knock.Door{Name: "typo", Start: knock.Command{Argv: []string{"iptabels-does-not-exist", "-A"}}}, event("192.0.2.1", knock.TCP, 1))
	if err := r.Shutdown(testContext(t)); err != nil {
		t.Fatal(err)
	}
	if got := r.Stats().Failed; got != 1 {
		t.Errorf("Stats().Failed = %d, want 1", got)
	}
	found := false
	for _, rec := range logs.Records(t) {
		if rec["msg"] == "command: could not run" && strings.Contains(rec["err"].(string), "iptabels-does-not-exist") {
			found = true
		}
	}
	if !found {
		t.Errorf("no \"could not run\" log record naming the command")
	}
}

func TestQueueFull(t *testing.T) {
	dir := t.TempDir()
	r, _, _ := newTestRunner(t)
	r.queueLen = 2
	release := filepath.Join(dir, "release")
	out := filepath.Join(dir, "out")
	door := knock.Door{Name: "busy", Start: knock.Command{Argv: []string{"/bin/sh", "-c",
		`while [ ! -e "$0" ]; do sleep 0.01; done; echo "$1" >> "$2"`, release, "%IP%", out}}}
	for _, src := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		r.Open(door, event(src, knock.TCP, 1))
	}
	if got := r.Stats().QueueFull; got != 1 {
		t.Errorf("Stats().QueueFull = %d, want 1", got)
	}
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if diff := diffLines([]string{"192.0.2.1", "192.0.2.2"}, waitLines(t, out, 2)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// A message door's text reaches its commands as it was sent and never as
// shell syntax: one argument in argv mode (with its spaces, quotes and
// $(...)), "$KNOCK_MESSAGE" in a shell command, and KNOCK_MESSAGE in the
// environment of both. An attacker who can send a text (it holds the key)
// still cannot make the daemon run anything.
func TestOpenMessage(t *testing.T) {
	dir := t.TempDir()
	pwned := filepath.Join(dir, "pwned")
	text := `deploy "v1.2" ✓; $(touch ` + pwned + `) ` + "`touch " + pwned + "`"
	r, _, _ := newTestRunner(t)
	argvOut := filepath.Join(dir, "argv")
	r.OpenMessage(knock.Door{Name: "notify", Start: appendLine(argvOut, "%DOOR%:", "%MESSAGE%")}, event("192.0.2.1", knock.TCP, 40000), text)
	if diff := diffLines([]string{"notify: " + text}, waitLines(t, argvOut, 1)); diff != "" {
		t.Errorf("argv command (-want +got):\n%s", diff)
	}
	shellOut := filepath.Join(dir, "shell")
	r.OpenMessage(knock.Door{Name: "notify-sh", Start: knock.Command{Shell: true,
		Argv: []string{"printf '%s\\n' %MESSAGE% > " + shellOut + "; printf '%s\\n' \"$KNOCK_MESSAGE\" >> " + shellOut}}},
		event("2001:db8::5", knock.TCP, 40001), text)
	if diff := diffLines([]string{text, text}, waitLines(t, shellOut, 2)); diff != "" {
		t.Errorf("shell command (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Error("the text ran as shell syntax")
	}
	// Doors that are not message doors keep %MESSAGE% as it is.
	plain := filepath.Join(dir, "plain")
	r.Open(knock.Door{Name: "ssh", Start: appendLine(plain, "%MESSAGE%")}, event("192.0.2.1", knock.TCP, 7000))
	if diff := diffLines([]string{"%MESSAGE%"}, waitLines(t, plain, 1)); diff != "" {
		t.Errorf("a plain door (-want +got):\n%s", diff)
	}
}
