package fleet

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
)

// procStatus returns the lines of /proc/PID/status whose names are keys.
func procStatus(t *testing.T, pid int, keys ...string) map[string]string {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
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
	if procStatus(t, os.Getpid(), "CapEff")["CapEff"] == "0000000000000000" {
		t.Skip("this test process has no capabilities to pass on (run it as root)")
	}
	f := newTestFleet(t, 1)
	nd, err := Open(context.Background(), f.serving(t, 0), f.opts(t, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer nd.Close()
	nd.srv.mu.Lock()
	pid := nd.srv.cmd.Process.Pid
	nd.srv.mu.Unlock()
	for k, v := range procStatus(t, pid, caps...) {
		if v != "0000000000000000" {
			t.Errorf("the server's %s is %s, want none", k, v)
		}
	}
	if len(procStatus(t, pid, caps...)) != len(caps) {
		t.Errorf("/proc/%d/status lacks some of %v", pid, caps)
	}
}
