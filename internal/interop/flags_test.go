package interop

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A cliResult is how one run of a program ended.
type cliResult struct {
	exit   int // -1: killed or not run
	stdout string
	stderr string
}

// runCLI runs a program to its end (10 s at most) and returns what it did.
func runCLI(t *testing.T, argv ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := cliResult{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		r.exit = exitErr.ExitCode()
	default:
		t.Fatalf("%s: %v", strings.Join(argv, " "), err)
	}
	return r
}

// knockdOption is one option in knockd's usage text: "-i, --interface".
var knockdOption = regexp.MustCompile(`(?m)^\s+(-[[:alnum:]]), (--[[:alnum:]-]+)`)

// TestKnockdFlagsOutsideTheDaemon runs knockbeepd with knockd's flags that
// act without starting a daemon, beside knockd with the same flags where
// that is safe (knockd -d would go to the background).
func TestKnockdFlagsOutsideTheDaemon(t *testing.T) {
	knockbeepd := ourBinary(t, "knockbeepd")
	missing := filepath.Join(t.TempDir(), "no-such.conf")
	tests := []struct {
		name   string
		args   []string
		knockd bool // run knockd with args too
		check  func(t *testing.T, ours, theirs cliResult)
	}{
		{
			name: "-h lists every option knockd's -h lists", args: []string{"-h"}, knockd: true,
			check: func(t *testing.T, ours, theirs cliResult) {
				if ours.exit != 0 || theirs.exit != 0 {
					t.Errorf("exit status: knockbeepd %d, knockd %d; want 0 from both", ours.exit, theirs.exit)
				}
				options := knockdOption.FindAllStringSubmatch(theirs.stdout, -1)
				if len(options) < 10 {
					t.Fatalf("found %d options in knockd's usage, want its 11:\n%s", len(options), theirs.stdout)
				}
				for _, o := range options {
					if !strings.Contains(ours.stdout, o[1]+", "+o[2]) {
						t.Errorf("knockbeepd -h does not list knockd's %s, %s", o[1], o[2])
					}
				}
			},
		},
		{
			name: "--help", args: []string{"--help"}, knockd: true,
			check: func(t *testing.T, ours, theirs cliResult) {
				if ours.exit != 0 || !strings.HasPrefix(ours.stdout, "usage: knockbeepd") {
					t.Errorf("knockbeepd --help: exit %d, output starting %.40q; want 0 and the usage", ours.exit, ours.stdout)
				}
			},
		},
		{
			name: "-V prints the version", args: []string{"-V"}, knockd: true,
			check: func(t *testing.T, ours, theirs cliResult) {
				if ours.exit != 0 || theirs.exit != 0 {
					t.Errorf("exit status: knockbeepd %d, knockd %d; want 0 from both", ours.exit, theirs.exit)
				}
				if !strings.HasPrefix(theirs.stdout, "knockd ") || !strings.HasPrefix(ours.stdout, "knockbeepd ") {
					t.Errorf("versions: knockd %q, knockbeepd %q; want each to start with its name", theirs.stdout, ours.stdout)
				}
			},
		},
		{
			name: "-d is refused, pointing to the service managers", args: []string{"-d"},
			check: func(t *testing.T, ours, _ cliResult) {
				if ours.exit != 2 {
					t.Errorf("knockbeepd -d: exit status %d, want 2 (bad command line)", ours.exit)
				}
				for _, want := range []string{"systemd", "knockbeepd.service", "rc.d"} {
					if !strings.Contains(ours.stderr, want) {
						t.Errorf("knockbeepd -d says %q; want it to mention %q", ours.stderr, want)
					}
				}
			},
		},
		{
			name: "--daemon is refused too", args: []string{"--daemon", "-c", debianConf},
			check: func(t *testing.T, ours, _ cliResult) {
				if ours.exit != 2 || !strings.Contains(ours.stderr, "systemd") {
					t.Errorf("knockbeepd --daemon: exit status %d, %q; want 2 and the pointer to systemd", ours.exit, ours.stderr)
				}
			},
		},
		{
			name: "-c names the config file", args: []string{"--check", "-c", debianConf},
			check: func(t *testing.T, ours, _ cliResult) {
				if ours.exit != 0 || !strings.Contains(ours.stdout, debianConf) || !strings.Contains(ours.stdout, "openSSH") {
					t.Errorf("knockbeepd --check -c %s: exit %d; want 0 and the file's doors:\n%s%s", debianConf, ours.exit, ours.stdout, ours.stderr)
				}
			},
		},
		{
			name: "--config=FILE, the long form", args: []string{"--check", "--config=" + debianConf},
			check: func(t *testing.T, ours, _ cliResult) {
				if ours.exit != 0 || !strings.Contains(ours.stdout, "openSSH") {
					t.Errorf("knockbeepd --check --config=%s: exit %d; want 0 and the file's doors:\n%s%s", debianConf, ours.exit, ours.stdout, ours.stderr)
				}
			},
		},
		{
			name: "-c with a missing file fails, naming it", args: []string{"-c", missing}, knockd: true,
			check: func(t *testing.T, ours, theirs cliResult) {
				if theirs.exit == 0 || ours.exit == 0 {
					t.Errorf("exit status: knockbeepd %d, knockd %d; want both to fail", ours.exit, theirs.exit)
				}
				if !strings.Contains(ours.stderr, missing) {
					t.Errorf("knockbeepd -c %s says %q; want the file named", missing, ours.stderr)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ours := runCLI(t, append([]string{knockbeepd}, tt.args...)...)
			var theirs cliResult
			if tt.knockd {
				if _, err := exec.LookPath("knockd"); err != nil {
					t.Skip("needs Debian's knockd to compare with: apt-get install knockd (the live tests install it as root)")
				}
				theirs = runCLI(t, append([]string{"knockd"}, tt.args...)...)
			}
			tt.check(t, ours, theirs)
		})
	}
}
