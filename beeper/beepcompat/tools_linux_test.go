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
)

// The console device both beeps sound in these tests. With no PC speaker
// KIOCSOUND succeeds there silently, which is all a trace needs.
const console = "/dev/tty0"

// realBeep is Debian's beep 1.4, as installed by its package.
const realBeep = "beep"

var (
	installMu sync.Mutex
	installed = map[string]error{} // package → the result of installing it
)

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
	beep := needCommand(tb, realBeep, "beep")
	if out, err := exec.Command(beep, "--version").Output(); err != nil || !strings.HasPrefix(string(out), "beep 1.4") {
		tb.Skipf("needs beep 1.4 (Debian 12's package), %s --version says %q (%v)", beep, firstLine(string(out)), err)
	}
	if traced {
		strace := needCommand(tb, "strace", "strace")
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

// needCommand returns the path of command, running apt-get install pkg
// (once per test run) when it is missing, or skips the test.
func needCommand(tb testing.TB, command, pkg string) string {
	tb.Helper()
	if path, err := exec.LookPath(command); err == nil {
		return path
	}
	installMu.Lock()
	err, tried := installed[pkg]
	if !tried {
		tb.Logf("installing %s with apt-get", pkg)
		err = aptInstall(pkg)
		installed[pkg] = err
	}
	installMu.Unlock()
	if err != nil {
		tb.Skipf("needs %s: %v", command, err)
	}
	path, err := exec.LookPath(command)
	if err != nil {
		tb.Skipf("needs %s: apt-get installed %s but %v", command, pkg, err)
	}
	return path
}

// aptInstall installs a Debian package, updating the package lists once
// when a plain install fails (they may be empty on a fresh machine).
func aptInstall(pkg string) error {
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("it is missing and there is no apt-get to install package %s", pkg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	install := func() ([]byte, error) {
		cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "-q", "--no-install-recommends", pkg)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	if _, err := install(); err == nil {
		return nil
	}
	if out, err := exec.CommandContext(ctx, "apt-get", "update", "-q").CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get update: %v\n%s", err, lastLines(string(out), 5))
	}
	if out, err := install(); err != nil {
		return fmt.Errorf("apt-get install %s: %v\n%s", pkg, err, lastLines(string(out), 5))
	}
	return nil
}

// binDir holds our beep, built once for the whole test run.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "beepcompat-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "beepcompat:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildOnce sync.Once
	ourPath   string
	buildErr  error
)

// ourBeep builds ./cmd/beep once per test run and returns its path.
func ourBeep(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		ourPath = filepath.Join(binDir, "beep")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "build", "-o", ourPath, "github.com/knockbeep/knockbeep/cmd/beep").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/beep: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return ourPath
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

// runBeep runs a beep with args and stdin, under strace when syscalls
// names the calls to trace ("ioctl", or "ioctl,clock_nanosleep,nanosleep"
// for beep 1.4, whose sleeps tell its schedule exactly).
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

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
