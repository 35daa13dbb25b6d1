package daemon

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// deadPid returns the id of a process that has exited.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run true(1) to get a dead process id: %v", err)
	}
	return cmd.Process.Pid
}

// livePid returns the id of a process that runs until the test ends.
func livePid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start sleep(1) as another live process: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd.Process.Pid
}

func TestPidFile(t *testing.T) {
	me := strconv.Itoa(os.Getpid()) + "\n"
	tests := []struct {
		name     string
		existing func(t *testing.T) string // content already there; nil for no file
		wantErr  string
		wantNote string
	}{
		{name: "no pidfile yet"},
		{
			name:     "stale: its process is gone",
			existing: func(t *testing.T) string { return strconv.Itoa(deadPid(t)) + "\n" },
			wantNote: "replaced a stale pidfile: process",
		},
		{
			name:     "garbage",
			existing: func(*testing.T) string { return "not a pid\n" },
			wantNote: "replaced a pidfile that holds no process id",
		},
		{
			name:     "our own id, left by an earlier run in this process",
			existing: func(*testing.T) string { return me },
			wantNote: "replaced a pidfile holding this process's own id",
		},
		{
			name:     "another live process",
			existing: func(t *testing.T) string { return strconv.Itoa(livePid(t)) },
			wantErr:  "is running: is knockbeepd already started?",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "knockbeepd.pid")
			var before string
			if tt.existing != nil {
				before = tt.existing(t)
				writeFile(t, path, before)
			}
			p, note, err := createPidFile(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				if got := readAll(t, path); got != before {
					t.Errorf("the other process's pidfile now holds %q, want it untouched (%q)", got, before)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(note, tt.wantNote) || (tt.wantNote == "") != (note == "") {
				t.Errorf("note %q, want one starting %q", note, tt.wantNote)
			}
			if got := readAll(t, path); got != me {
				t.Errorf("pidfile holds %q, want %q", got, me)
			}
			if err := p.remove(); err != nil {
				t.Fatal(err)
			}
			if fileExists(path) {
				t.Error("the pidfile is still there after remove")
			}
		})
	}
}

// A pidfile that another process has taken over since is not removed.
func TestPidFileRemoveKeepsOthers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "knockbeepd.pid")
	p, _, err := createPidFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, "4242\n")
	if err := p.remove(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, path); got != "4242\n" {
		t.Errorf("pidfile holds %q, want the other process's \"4242\\n\" kept", got)
	}
}

// The daemon writes its pidfile while it runs and removes it when it
// stops; a second daemon on the same pidfile refuses to start.
func TestDaemonPidFile(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: a running daemon captures with AF_PACKET (CAP_NET_RAW)")
	}
	dir := t.TempDir()
	pid := filepath.Join(dir, "run.pid")
	cfg, _ := testConfig(t, dir, `
interfaces = ["lo"]
speaker = "none"
state_dir = "{{DIR}}/state"
pid_file = "{{DIR}}/run.pid"
[music]
enabled = false
[[door]]
name = "x"
sequence = ["47001"]
`)
	logger, _ := testLogger(t)
	d, err := New(cfg, Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- d.Run(ctx) }()
	if got, want := readAll(t, pid), strconv.Itoa(os.Getpid())+"\n"; got != want {
		t.Errorf("while running the pidfile holds %q, want %q", got, want)
	}
	// The same process id is "ours", so a second daemon is refused only
	// for another process: simulate it with a live one's id.
	writeFile(t, pid, strconv.Itoa(livePid(t))+"\n")
	if _, err := New(cfg, Options{Logger: logger}); err == nil || !strings.Contains(err.Error(), "is running") {
		t.Errorf("a second daemon on a held pidfile: error %v, want a refusal", err)
	}
	writeFile(t, pid, strconv.Itoa(os.Getpid())+"\n")
	stop()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if fileExists(pid) {
		t.Error("the pidfile is still there after the daemon stopped")
	}
}

// When New fails part way (here: an interface that does not exist), what
// it had opened is released: the pidfile is gone again.
func TestNewFailureReleases(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := testConfig(t, dir, `
interfaces = ["nosuchif0"]
speaker = "none"
state_dir = "{{DIR}}/state"
pid_file = "{{DIR}}/run.pid"
[log]
file = "{{DIR}}/log"
`)
	_, err := New(cfg, Options{})
	if err == nil || !strings.Contains(err.Error(), `no interface "nosuchif0"`) {
		t.Fatalf("New with a missing interface: error %v, want one naming it", err)
	}
	if fileExists(filepath.Join(dir, "run.pid")) {
		t.Error("the pidfile is left behind")
	}
}
