package testtools

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	installMu sync.Mutex
	installed = map[string]error{} // Debian package → the result of installing it
)

// NeedCommand returns the path of command, installing the Debian package
// pkg with apt-get (once per test binary) when it is missing; when that
// cannot be done it skips tb with the reason.
func NeedCommand(tb testing.TB, command, pkg string) string {
	tb.Helper()
	if path, err := exec.LookPath(command); err == nil {
		return path
	}
	if os.Geteuid() != 0 {
		tb.Skipf("needs %s: installing it needs root (apt-get install %s)", command, pkg)
	}
	installMu.Lock()
	err, tried := installed[pkg]
	if !tried {
		tb.Logf("testtools: installing %s with apt-get", pkg)
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

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

var (
	binMu  sync.Mutex
	binDir string                // made by the first build, removed by Main
	builds = map[string]*build{} // package path → its build
)

type build struct {
	n    int // its own directory under binDir
	once sync.Once
	path string
	err  error
}

// BuildBinary builds the main package pkg (an import path, such as
// "github.com/knockbeep/knockbeep/cmd/beep") once per test binary and
// returns the path of the program, named after the package's last element.
// It fails tb when the build fails.
func BuildBinary(tb testing.TB, pkg string) string {
	tb.Helper()
	binMu.Lock()
	b, ok := builds[pkg]
	if !ok {
		b = &build{n: len(builds)}
		builds[pkg] = b
	}
	binMu.Unlock()
	b.once.Do(func() { b.path, b.err = goBuild(pkg, b.n) })
	if b.err != nil {
		tb.Fatal(b.err)
	}
	return b.path
}

func goBuild(pkg string, n int) (string, error) {
	binMu.Lock()
	if binDir == "" {
		dir, err := os.MkdirTemp("", "knockbeep-testtools-")
		if err != nil {
			binMu.Unlock()
			return "", fmt.Errorf("testtools: a directory for go build %s: %w", pkg, err)
		}
		binDir = dir
	}
	dir := binDir
	binMu.Unlock()
	// Two packages may end alike (cmd/beep, tools/beep): each gets its own
	// directory.
	out := filepath.Join(dir, fmt.Sprint(n), path.Base(pkg))
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", fmt.Errorf("testtools: go build %s: %w", pkg, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if msg, err := exec.CommandContext(ctx, "go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
		return "", fmt.Errorf("testtools: go build %s: %v\n%s", pkg, err, msg)
	}
	return out, nil
}

// Main runs the tests of m, removes what BuildBinary built and exits with
// the tests' status; call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	binMu.Lock()
	if binDir != "" {
		if err := os.RemoveAll(binDir); err != nil {
			fmt.Fprintf(os.Stderr, "testtools: removing the test binaries: %v\n", err)
		}
	}
	binMu.Unlock()
	os.Exit(code)
}
