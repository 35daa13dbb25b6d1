package fleet

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// procStatus returns the lines of /proc/PID/[SUB/]status whose names are
// keys.
func procStatus(t *testing.T, pid int, sub string, keys ...string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(fmt.Sprintf("/proc/%d", pid), sub, "status"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), ":")
		for _, k := range keys {
			if name == k {
				got[k] = strings.TrimSpace(value)
			}
		}
	}
	return got
}

// The embedded server, the part of a node that strangers reach, runs
// with no capability at all, though the daemon that starts it has raw
// sockets and the firewall's: a flaw in the server that runs an
// attacker's code gives them neither.
func TestServerProgramDropsItsCapabilities(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server")
	}
	caps := []string{"CapInh", "CapPrm", "CapEff", "CapAmb"}
	if procStatus(t, os.Getpid(), "", "CapEff")["CapEff"] == "0000000000000000" {
		t.Skip("this test process has no capabilities to pass on (run it as root)")
	}
	f := newTestFleet(t, 1)
	nd := openNode(t, f.serving(t, 0), f.opts(t, 0))
	nd.srv.mu.Lock()
	pid := nd.srv.cmd.Process.Pid
	nd.srv.mu.Unlock()
	// Every thread: a capability dropped on one thread only stays on
	// the others (/proc/PID/status shows the main thread's).
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil || len(tasks) < 2 {
		t.Fatalf("the server's threads: %d, %v", len(tasks), err)
	}
	for _, task := range tasks {
		got := procStatus(t, pid, "task/"+task.Name(), caps...)
		if len(got) != len(caps) {
			t.Errorf("thread %s: /proc lacks some of %v", task.Name(), caps)
		}
		for k, v := range got {
			if v != "0000000000000000" {
				t.Errorf("thread %s: the server's %s is %s, want none", task.Name(), k, v)
			}
		}
	}
}
