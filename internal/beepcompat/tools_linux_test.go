package beepcompat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/knockbeep/knockbeep/internal/testtools"
)

// The console device both beeps sound in these tests. With no PC speaker
// KIOCSOUND succeeds there silently, which is all a trace needs.
const console = "/dev/tty0"

// realBeep is Debian's beep 1.4, as installed by its package.
const realBeep = "beep"

// needTools makes sure the test can run Debian's beep (and strace, when
// traced) on the console as root, installing the packages with apt-get
// when they are missing, and returns the path of real beep; otherwise it
// skips the test with the reason.
func needTools(tb testing.TB, traced bool) string {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skipf("needs root: beep sounds %s through KIOCSOUND, which needs CAP_SYS_TTY_CONFIG", console)
	}
	if err := probeConsole(); err != nil {
		tb.Skipf("needs a virtual console that takes KIOCSOUND: %v", err)
	}
	beep := testtools.NeedCommand(tb, realBeep, "beep")
	if out, err := exec.Command(beep, "--version").Output(); err != nil || !strings.HasPrefix(string(out), "beep 1.4") {
		tb.Skipf("needs beep 1.4 (Debian 12's package), %s --version says %q (%v)", beep, firstLine(string(out)), err)
	}
	if traced {
		strace := testtools.NeedCommand(tb, "strace", "strace")
		// A container may forbid ptrace.
		if out, err := exec.Command(strace, "-qq", "-e", "trace=none", "true").CombinedOutput(); err != nil {
			tb.Skipf("needs strace to trace a program: %v: %s", err, bytes.TrimSpace(out))
		}
	}
	return beep
}

// probeConsole checks that the console takes KIOCSOUND, as both beeps
// check on opening it.
func probeConsole() error {
	fd, err := unix.Open(console, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", console, err)
	}
	defer unix.Close(fd)
	if err := unix.IoctlSetInt(fd, _KIOCSOUND, 0); err != nil {
		return fmt.Errorf("%s: KIOCSOUND: %w", console, err)
	}
	return nil
}

func TestMain(m *testing.M) { testtools.Main(m) }

// ourBeep builds ./cmd/beep once per test run and returns its path.
func ourBeep(tb testing.TB) string {
	tb.Helper()
	return testtools.BuildBinary(tb, "github.com/knockbeep/knockbeep/cmd/beep")
}

// beepEnv is the environment both beeps run in: no SUDO_* variables (beep
// 1.4 refuses to run as root under sudo), no BEEP_LOG_LEVEL, messages in
// English.
var beepEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}

// A run is how one beep ran.
type run struct {
	code           int
	stdout, stderr string
	calls          []call // when traced
}

// realtimePriority is the SCHED_FIFO priority traced beeps run at: any
// real-time priority runs before every ordinary (SCHED_OTHER) process,
// which is all a busy machine's load is; 10 leaves the kernel's own
// real-time threads (priority 50 and up) ahead.
const realtimePriority = "10"

// realtime is the command that runs a traced beep, and strace with it, at
// realtimePriority, so that the machine's other work cannot delay their
// wake-ups; nil, with the reason in realtimeWhyNot, where chrt cannot set
// that policy (a container without CAP_SYS_NICE): the beeps then run at
// the ordinary priority and the floor measured from beep 1.4 carries the
// load.
var realtime = sync.OnceValues(func() ([]string, string) {
	chrt, err := exec.LookPath("chrt")
	if err != nil {
		return nil, "no chrt (package util-linux)"
	}
	argv := []string{chrt, "--fifo", realtimePriority}
	if out, err := exec.Command(chrt, append(argv[1:], "true")...).CombinedOutput(); err != nil {
		return nil, fmt.Sprintf("chrt --fifo %s: %v: %s", realtimePriority, err, bytes.TrimSpace(out))
	}
	return argv, ""
})

// runBeep runs a beep with args and stdin, under strace when syscalls
// names the calls to trace ("ioctl", or "ioctl,clock_nanosleep,nanosleep"
// for beep 1.4, whose sleeps tell its schedule exactly). A traced beep
// runs at a real-time priority when it can (see realtime).
func runBeep(tb testing.TB, syscalls, stdin, program string, args ...string) run {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	argv := append([]string{program}, args...)
	var log string
	if syscalls != "" {
		log = filepath.Join(tb.TempDir(), "strace.log")
		// -f: our beep sounds from whichever thread the Go runtime picks.
		// --seccomp-bpf stops only the traced calls, sparing the Go
		// runtime's others the tracer's delay.
		argv = append([]string{"strace", "-f", "--seccomp-bpf", "-qq", "-ttt",
			"-e", "signal=none", "-e", "raw=ioctl", "-e", "trace=" + syscalls, "-o", log, "--"}, argv...)
		if rt, _ := realtime(); rt != nil {
			argv = append(append([]string(nil), rt...), argv...)
		}
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = beepEnv
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		tb.Fatalf("running %s: %v", strings.Join(argv, " "), err)
	}
	r := run{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	if syscalls != "" {
		text, err := os.ReadFile(log)
		if err != nil {
			tb.Fatalf("%s: %v (stderr: %s)", strings.Join(argv, " "), err, r.stderr)
		}
		if r.calls, err = parseTrace(string(text)); err != nil {
			tb.Fatal(err)
		}
	}
	return r
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
