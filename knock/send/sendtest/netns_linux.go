package sendtest

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// A Netns is a network namespace made for one test with iproute2's
// "ip netns add", deleted when the test ends. Its loopback is up.
type Netns struct {
	tb   testing.TB
	name string
}

var netnsCount atomic.Int64

// NewNetns creates a namespace named uniquely for this process, or skips tb
// when the test is not root or iproute2 is missing.
func NewNetns(tb testing.TB) *Netns {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root: creates a network namespace and captures with AF_PACKET")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		tb.Skip("needs iproute2's ip command to create network namespaces: apt-get install iproute2")
	}
	n := &Netns{tb: tb, name: fmt.Sprintf("kbtest-%d-%d", os.Getpid(), netnsCount.Add(1))}
	if out, err := exec.Command("ip", "netns", "add", n.name).CombinedOutput(); err != nil {
		tb.Fatalf("sendtest: ip netns add %s: %v: %s", n.name, err, out)
	}
	tb.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", n.name).CombinedOutput(); err != nil {
			tb.Errorf("sendtest: ip netns del %s: %v: %s", n.name, err, out)
		}
	})
	n.IP("link", "set", "lo", "up")
	return n
}

// Name is the namespace's name, as "ip netns list" shows it.
func (n *Netns) Name() string { return n.name }

// IP runs "ip -n NAME args..." and fails the test if it fails.
func (n *Netns) IP(args ...string) {
	n.tb.Helper()
	argv := append([]string{"-n", n.name}, args...)
	if out, err := exec.Command("ip", argv...).CombinedOutput(); err != nil {
		n.tb.Fatalf("sendtest: ip %s: %v: %s", strings.Join(argv, " "), err, out)
	}
}

// Do runs fn on an OS thread inside the namespace and returns its error.
// Sockets fn opens stay in the namespace after Do returns. Goroutines fn
// starts run outside it.
func (n *Netns) Do(fn func() error) error {
	done := make(chan error, 1)
	go func() {
		// The thread is never unlocked: when this goroutine ends the
		// runtime throws the thread away instead of running other
		// goroutines in the test's namespace.
		runtime.LockOSThread()
		ns, err := os.Open("/run/netns/" + n.name)
		if err != nil {
			done <- fmt.Errorf("sendtest: open namespace %s: %w", n.name, err)
			return
		}
		defer ns.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("sendtest: enter namespace %s: %w", n.name, os.NewSyscallError("setns", err))
			return
		}
		done <- fn()
	}()
	return <-done
}
