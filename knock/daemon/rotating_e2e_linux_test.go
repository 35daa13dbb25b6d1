package daemon

import (
	"bytes"
	"context"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/clock"
	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/client"
	"github.com/knockbeep/knockbeep/knock/portlang"
	"github.com/knockbeep/knockbeep/knock/send"
	"github.com/knockbeep/knockbeep/knock/send/sendtest"
)

// The rotating doors of the end-to-end tests: "rot" accepts a period on
// either side (skew 1), "rot0" only the current one (skew 0), "bound" is
// "rot" with each knocker's sequence derived for its address; a period is
// 4 s. "mark" is a static door the tests knock last, to know the daemon
// has taken every knock before it (knocks are acted on in order).
const rotatingE2EConfig = `
speaker = "none"
state_dir = "{{DIR}}/state"
[music]
enabled = false

[[door]]
name = "rot"
secret_file = "{{DIR}}/door.key"
period = "4s"
skew = 1
timeout = "3s"
port_range = "20000-29999"
start_command = ["/bin/sh", "-c", "echo %IP% >> {{DIR}}/rot.out"]

[[door]]
name = "rot0"
secret_file = "{{DIR}}/door.key"
period = "4s"
skew = 0
timeout = "3s"
port_range = "30000-39999"
start_command = ["/bin/sh", "-c", "echo %IP% >> {{DIR}}/rot0.out"]

[[door]]
name = "bound"
secret_file = "{{DIR}}/door.key"
period = "4s"
skew = 1
timeout = "3s"
port_range = "40000-49999"
bind_source = true
start_command = ["/bin/sh", "-c", "echo %IP% >> {{DIR}}/bound.out"]

[[door]]
name = "answer"
secret_file = "{{DIR}}/door.key"
period = "4s"
skew = 1
timeout = "3s"
port_range = "60000-64999"
reply = true
start_command = ["/bin/sh", "-c", "echo %IP% >> {{DIR}}/answer.out"]
stop_command = ["/bin/true"]
cmd_timeout = "1h"

[[door]]
name = "notify"
kind = "message"
secret_file = "{{DIR}}/door.key"
period = "4s"
skew = 1
timeout = "3s"
port_range = "50000-59999"
start_command = ["/bin/sh", "-c", "printf '%s\\n' \"$1\" >> {{DIR}}/notify.out", "sh", "%MESSAGE%"]

[[door]]
name = "mark"
sequence = "7000,7001"
start_command = ["/bin/true"]
`

const e2ePeriod = 4 * time.Second

// rotatingLab is the daemon's namespace and two knockers, A and B, each
// joined to it by a veth pair.
type rotatingLab struct {
	host, a, b *sendtest.Netns
	addr       netip.Addr // the daemon's address, as A and B reach it
	srcA, srcB netip.Addr
	dir        string // the daemon's directory: config, key, state
}

func newRotatingLab(t *testing.T) *rotatingLab {
	l := &rotatingLab{host: sendtest.NewNetns(t), a: sendtest.NewNetns(t), b: sendtest.NewNetns(t), dir: t.TempDir()}
	for i, k := range []*sendtest.Netns{l.a, l.b} {
		n := strconv.Itoa(81 + i)
		k.IP("link", "add", "wire", "type", "veth", "peer", "name", "wire"+n, "netns", l.host.Name())
		k.IP("addr", "add", "10."+n+".0.1/24", "dev", "wire")
		k.IP("link", "set", "wire", "up")
		l.host.IP("addr", "add", "10."+n+".0.2/24", "dev", "wire"+n)
		l.host.IP("link", "set", "wire"+n, "up")
		k.IP("route", "add", "10.0.0.0/8", "via", "10."+n+".0.2")
	}
	l.host.IP("addr", "add", "10.80.0.1/32", "dev", "lo")
	l.addr = netip.MustParseAddr("10.80.0.1")
	l.srcA, l.srcB = netip.MustParseAddr("10.81.0.1"), netip.MustParseAddr("10.82.0.1")
	if err := portlang.WriteKeyFile(filepath.Join(l.dir, "door.key")); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *rotatingLab) start(t *testing.T) *daemonProc {
	return startDaemonIn(t, l.host, l.dir, rotatingE2EConfig)
}

// skewedClock is the system clock off by off: a client whose clock is
// wrong.
type skewedClock struct {
	clock.Clock
	off time.Duration
}

func (c skewedClock) Now() time.Time { return c.Clock.Now().Add(c.off) }

// SleepUntil waits until the skewed clock reads t.
func (c skewedClock) SleepUntil(ctx context.Context, t time.Time) error {
	return c.Clock.SleepUntil(ctx, t.Add(-c.off))
}

var hitting = regexp.MustCompile(`(?m)^hitting (tcp|udp) \S+:(\d+)$`)

// knockDoor runs knock --secret-file -v from ns with a clock off by
// clockOff and extra arguments, and returns the knocks it sent.
func (l *rotatingLab) knockDoor(t *testing.T, ns *sendtest.Netns, door string, clockOff time.Duration, extra ...string) []send.Target {
	t.Helper()
	args := append([]string{"-v", "--secret-file", filepath.Join(l.dir, "door.key"), "--door", door, "--period", "4s"}, extra...)
	switch door {
	case "rot":
		args = append(args, "--port-range", "20000-29999")
	case "rot0":
		args = append(args, "--port-range", "30000-39999")
	case "bound":
		args = append(args, "--port-range", "40000-49999")
	case "answer":
		args = append(args, "--port-range", "60000-64999")
	}
	sent, stdout := l.runKnock(t, ns, skewedClock{clock.System(), clockOff}, args)
	if len(sent) != 4 {
		t.Fatalf("knock sent %d knocks, want 4:\n%s", len(sent), stdout)
	}
	return sent
}

// runKnock runs knock -v with args and the daemon's address from ns, on
// clk, and returns the knocks it says it sent, and its output.
func (l *rotatingLab) runKnock(t *testing.T, ns *sendtest.Netns, clk clock.Clock, args []string) ([]send.Target, string) {
	t.Helper()
	return runKnockIn(t, ns, clk, append(args, l.addr.String()))
}

// runKnockIn runs knock with args (-v among them) from ns on clk, and
// returns the knocks its "hitting" lines say it sent, and its output; a
// status other than 0 fails the test.
func runKnockIn(t *testing.T, ns *sendtest.Netns, clk clock.Clock, args []string) ([]send.Target, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := ns.Do(func() error {
		if status := client.RunWithClock(context.Background(), args, &stdout, &stderr, clk); status != client.ExitOK {
			t.Errorf("knock %q: status %d: %s", args, status, stderr.String())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var sent []send.Target
	for _, m := range hitting.FindAllStringSubmatch(stdout.String(), -1) {
		port, _ := strconv.Atoi(m[2])
		proto := knock.TCP
		if m[1] == "udp" {
			proto = knock.UDP
		}
		sent = append(sent, send.Target{Port: uint16(port), Proto: proto})
	}
	return sent, stdout.String()
}

// marked knocks the mark door from ns and waits until the daemon opened
// it: every knock sent before has been acted on.
func (l *rotatingLab) marked(t *testing.T, d *daemonProc, ns *sendtest.Netns) {
	t.Helper()
	before := d.count("daemon: door opened", "mark")
	knockPorts(t, ns, l.addr, send.Target{Port: 7000, Proto: knock.TCP}, send.Target{Port: 7001, Proto: knock.TCP})
	deadline := time.Now().Add(10 * time.Second)
	for d.count("daemon: door opened", "mark") == before {
		if time.Now().After(deadline) {
			t.Fatal("the mark door did not open")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// count is the number of log records with msg for door.
func (p *daemonProc) count(msg, door string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, rec := range p.lines {
		if rec["msg"] == msg && rec["door"] == door {
			n++
		}
	}
	return n
}

// intoPeriod waits until the wall clock is at least from and at most to
// into a period later than after, and returns that period.
func intoPeriod(after int64, from, to time.Duration) int64 {
	for {
		now := time.Now()
		into := time.Duration(now.UnixNano() % int64(e2ePeriod))
		if p := portlang.PeriodAt(now, e2ePeriod); p > after && into >= from && into <= to {
			return p
		}
		wait := from - into
		if wait <= 0 {
			wait += e2ePeriod
		}
		time.Sleep(wait)
	}
}

// A rotating door, on the wire: knock --secret-file opens it; the same
// knocks replayed from the same source and from another, in the same
// period and the next, open nothing (each is refused and logged); nor
// after a restart, nor after a SIGKILL right after an opening.
func TestRotatingEndToEndReplay(t *testing.T) {
	l := newRotatingLab(t)
	d := l.start(t)
	out := filepath.Join(l.dir, "rot.out")

	p := intoPeriod(0, 200*time.Millisecond, 2*time.Second) // the replays below stay in this period
	first := l.knockDoor(t, l.a, "rot", 0)
	waitFile(t, out, l.srcA.String()+"\n")
	knockPorts(t, l.a, l.addr, first...) // same source, same period
	knockPorts(t, l.b, l.addr, first...) // another source, same period
	l.marked(t, d, l.a)
	p = intoPeriod(p, 200*time.Millisecond, 2*time.Second) // the next period (or later: then the replay is simply out of its window)
	knockPorts(t, l.b, l.addr, first...)
	l.marked(t, d, l.b)
	if got := readAll(t, out); got != l.srcA.String()+"\n" {
		t.Errorf("rot.out = %q, want only the first opening", got)
	}
	if n := d.count("daemon: door not opened", "rot"); n < 2 {
		t.Errorf("%d replays refused and logged, want at least 2 (those in the first period)", n)
	}
	d.stop()

	// A restart: the replays still open nothing.
	d = l.start(t)
	knockPorts(t, l.a, l.addr, first...)
	knockPorts(t, l.b, l.addr, first...)
	l.marked(t, d, l.a)
	if n := d.count("daemon: door opened", "rot"); n != 0 {
		t.Errorf("after a restart the replayed knocks opened the door %d times", n)
	}

	// SIGKILL right after an opening: the opening was on disk before
	// the command ran.
	intoPeriod(p, 200*time.Millisecond, 2*time.Second) // a period whose sequence was not used
	opened := d.count("daemon: door opened", "rot")
	second := l.knockDoor(t, l.a, "rot", 0)
	for deadline := time.Now().Add(10 * time.Second); d.count("daemon: door opened", "rot") == opened; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the second knock did not open the door")
		}
	}
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.exited
	d.exited <- nil
	d = l.start(t)
	knockPorts(t, l.a, l.addr, second...)
	knockPorts(t, l.b, l.addr, second...)
	l.marked(t, d, l.b)
	if n := d.count("daemon: door opened", "rot"); n != 0 {
		t.Errorf("after a SIGKILL the replayed knocks opened the door %d times", n)
	}
	d.stop()
}

// Clock skew, on the wire: a client one period ahead opens; one two
// periods behind does not; the same client with --time-offset opens.
// The offsets keep each result whatever the machine's load: a client
// ahead by one period is accepted however late its knocks arrive within
// the next period, and one behind by two is refused whenever they arrive.
func TestRotatingEndToEndSkew(t *testing.T) {
	l := newRotatingLab(t)
	d := l.start(t)
	out := filepath.Join(l.dir, "rot.out")

	l.knockDoor(t, l.a, "rot", e2ePeriod) // one period ahead
	waitFile(t, out, l.srcA.String()+"\n")

	l.knockDoor(t, l.b, "rot", -2*e2ePeriod) // two periods behind
	l.marked(t, d, l.b)
	if got := readAll(t, out); got != l.srcA.String()+"\n" {
		t.Errorf("a client two periods behind opened the door: rot.out = %q", got)
	}
	l.knockDoor(t, l.b, "rot", -2*e2ePeriod, "--time-offset", (2 * e2ePeriod).String())
	waitFile(t, out, l.srcA.String()+"\n"+l.srcB.String()+"\n")
	d.waitLog("daemon: rotating door: the knocker's clock is off", time.Second)
	d.stop()
}

// A sequence whose knocks straddle a period boundary opens a door that
// accepts only the current period (skew 0): its first knock's period
// decides.
func TestRotatingEndToEndStraddle(t *testing.T) {
	l := newRotatingLab(t)
	d := l.start(t)
	out := filepath.Join(l.dir, "rot0.out")
	// Knocks 700 ms apart from 1.2 s before a boundary: two before it,
	// two after, all within the door's 3 s timeout; the first knock would
	// have to be 1.2 s late to miss its period.
	intoPeriod(0, e2ePeriod-1250*time.Millisecond, e2ePeriod-1200*time.Millisecond)
	began := time.Now()
	l.knockDoor(t, l.a, "rot0", 0, "-d", "700ms")
	if portlang.PeriodAt(began, e2ePeriod) == portlang.PeriodAt(time.Now(), e2ePeriod) {
		t.Fatal("the knocks did not straddle a period boundary")
	}
	waitFile(t, out, l.srcA.String()+"\n")
	d.stop()
}

// A door with bind_source, on the wire: A and B each open it in the same
// period with knock --bind-source; B replaying A's knocks opens nothing
// (they are not B's sequence), nor does B knocking the sequence derived
// for A's address (--source-address) from its own; A's own replay is
// refused and logged, also after a restart.
func TestRotatingEndToEndBindSource(t *testing.T) {
	l := newRotatingLab(t)
	d := l.start(t)
	out := filepath.Join(l.dir, "bound.out")

	intoPeriod(0, 200*time.Millisecond, 1500*time.Millisecond) // everything below within one period and the next (skew 1)
	first := l.knockDoor(t, l.a, "bound", 0, "--bind-source")
	waitFile(t, out, l.srcA.String()+"\n")
	knockPorts(t, l.b, l.addr, first...)                                 // an observer's replay from its own address
	l.knockDoor(t, l.b, "bound", 0, "--source-address", l.srcA.String()) // A's sequence, derived by B, sent from B
	l.marked(t, d, l.b)
	if got := readAll(t, out); got != l.srcA.String()+"\n" {
		t.Errorf("bound.out = %q: a sequence derived for A opened from B", got)
	}
	if n := d.count("daemon: door not opened", "bound"); n != 0 {
		t.Errorf("%d refusals: B's knocks of A's sequence must not even complete", n)
	}
	l.knockDoor(t, l.b, "bound", 0, "--bind-source")
	waitFile(t, out, l.srcA.String()+"\n"+l.srcB.String()+"\n")
	knockPorts(t, l.a, l.addr, first...) // A's own replay
	l.marked(t, d, l.a)
	if n := d.count("daemon: door not opened", "bound"); n != 1 {
		t.Errorf("%d refusals, want A's replay refused and logged once", n)
	}
	d.stop()

	d = l.start(t)
	knockPorts(t, l.a, l.addr, first...)
	l.marked(t, d, l.a)
	if got := readAll(t, out); got != l.srcA.String()+"\n"+l.srcB.String()+"\n" {
		t.Errorf("after a restart A's replay opened: bound.out = %q", got)
	}
	d.stop()
}

// A message door, on the wire: knock --message sends a text of mixed
// scripts; the door's command gets it exactly, once, as one argument.
func TestMessageEndToEnd(t *testing.T) {
	l := newRotatingLab(t)
	d := l.start(t)
	out := filepath.Join(l.dir, "notify.out")
	text := "deploy v1.2 ✓ — Grüße, привет, 日本語 'q' \"dq\" $(id)"
	var stdout, stderr bytes.Buffer
	args := []string{"--secret-file", filepath.Join(l.dir, "door.key"), "--door", "notify", "--period", "4s",
		"--port-range", "50000-59999", "--message", text, l.addr.String()}
	err := l.a.Do(func() error {
		if status := client.Run(context.Background(), args, &stdout, &stderr); status != client.ExitOK {
			t.Errorf("knock %q: status %d: %s", args, status, stderr.String())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFile(t, out, text+"\n")
	if n := d.count("daemon: message delivered", "notify"); n != 1 {
		t.Errorf("%d deliveries logged, want 1", n)
	}
	d.stop()
}

// A door with reply = true, on the wire: knock --wait prints that it
// opened and until when, exit 0; the same sequence again in the same
// period is refused, and knock --wait says so and exits 6 (ExitRefused).
func TestReplyEndToEnd(t *testing.T) {
	l := newRotatingLab(t)
	d := l.start(t)
	intoPeriod(0, 200*time.Millisecond, 1500*time.Millisecond) // both knocks in one period
	run := func() (int, string) {
		var stdout, stderr bytes.Buffer
		args := []string{"--secret-file", filepath.Join(l.dir, "door.key"), "--door", "answer", "--period", "4s",
			"--port-range", "60000-64999", "--wait", "--wait-timeout", "10s", l.addr.String()}
		status := -1
		if err := l.a.Do(func() error {
			status = client.Run(context.Background(), args, &stdout, &stderr)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return status, stdout.String() + stderr.String()
	}
	status, out := run()
	if status != client.ExitOK || !regexp.MustCompile(`^door answer opened until \S+Z\n$`).MatchString(out) {
		t.Fatalf("first knock: status %d, %q; want 0 and the opening with its end", status, out)
	}
	waitFile(t, filepath.Join(l.dir, "answer.out"), l.srcA.String()+"\n")
	status, out = run()
	if status != client.ExitRefused || !strings.Contains(out, "door answer refused the knock") {
		t.Errorf("the same sequence again: status %d, %q; want %d and the refusal", status, out, client.ExitRefused)
	}
	d.stop()
}
