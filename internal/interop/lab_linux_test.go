//go:build linux

package interop

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/knockbeep/knockbeep/internal/testtools"
	"github.com/knockbeep/knockbeep/knock/send/sendtest"
)

// The clients' addresses in a lab (the server's are srv4 and srv6).
var (
	cli4 = netip.MustParseAddr("198.18.0.2")
	cli6 = netip.MustParseAddr("fd00:4b42::2")
)

// A lab is two network namespaces joined by a veth pair: the daemons
// capture on srvIf in srv, the clients and the packet injector send from
// cliIf in cli. Both are deleted when the test ends, with everything in
// them.
type lab struct {
	t        *testing.T
	srv, cli *sendtest.Netns
}

// newLab makes a lab, or skips the test when it is not root.
func newLab(t *testing.T) *lab {
	t.Helper()
	l := &lab{t: t, srv: sendtest.NewNetns(t), cli: sendtest.NewNetns(t)}
	l.addVeth()
	return l
}

// addVeth joins the lab's namespaces with the veth pair and gives both
// ends their addresses.
func (l *lab) addVeth() {
	l.t.Helper()
	run(l.t, "ip", "link", "add", srvIf, "address", srvMAC.String(), "netns", l.srv.Name(), "type", "veth",
		"peer", "name", cliIf, "address", cliMAC.String(), "netns", l.cli.Name())
	l.srv.IP("addr", "add", srv4.String()+"/24", "dev", srvIf)
	l.srv.IP("addr", "add", srv6.String()+"/64", "dev", srvIf, "nodad")
	l.cli.IP("addr", "add", cli4.String()+"/24", "dev", cliIf)
	l.cli.IP("addr", "add", cli6.String()+"/64", "dev", cliIf, "nodad")
	l.srv.IP("link", "set", srvIf, "up")
	l.cli.IP("link", "set", cliIf, "up")
}

// run runs a command and fails the test when it fails.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// inNetns is the argv that runs argv inside the namespace ns.
func inNetns(ns *sendtest.Netns, argv ...string) []string {
	return append([]string{"ip", "netns", "exec", ns.Name()}, argv...)
}

// needKnockd makes sure Debian's knockd and knock are installed, installing
// the knockd package with apt-get when they are missing, or skips the test.
// The package may enable its own service on installing: it is disabled
// again, the tests start their own knockd.
func needKnockd(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("knockd"); err != nil {
		testtools.NeedCommand(t, "knockd", "knockd")
		if _, err := exec.LookPath("systemctl"); err == nil {
			exec.Command("systemctl", "disable", "--now", "knockd").Run()
		}
	}
	testtools.NeedCommand(t, "knock", "knockd")
}

// A daemon is knockd or knockbeepd running in a lab's server namespace,
// stopped when the test ends.
type daemon struct {
	t    *testing.T
	name string
	dir  string // its working directory: its commands write the file opened here
	cmd  *exec.Cmd
	out  *syncBuffer // standard output and error
	done chan struct{}
	err  error // how it ended, once done is closed

	children []process // processes it forked, found before it was stopped
}

// startKnockd runs Debian's knockd -D -v with conf in the lab's server
// namespace, working in dir, and waits until it listens.
func (l *lab) startKnockd(dir, conf string, args ...string) *daemon {
	l.t.Helper()
	argv := append([]string{"knockd", "-c", conf, "-D", "-v"}, args...)
	d := l.start("knockd", dir, inNetns(l.srv, argv...))
	d.waitFor("listening on ", 10*time.Second)
	return d
}

// startKnockbeepd runs knockbeepd -c conf -D in the lab's server
// namespace, working in dir, and waits until it captures.
func (l *lab) startKnockbeepd(dir, conf string, args ...string) *daemon {
	l.t.Helper()
	argv := append([]string{ourBinary(l.t, "knockbeepd"), "-c", conf, "-D", "--speaker", "none",
		"--state-dir", filepath.Join(dir, "state")}, args...)
	d := l.start("knockbeepd", dir, inNetns(l.srv, argv...))
	d.waitFor("daemon: capturing", 10*time.Second)
	return d
}

// start starts argv in dir, with envMark in its environment.
func (l *lab) start(name, dir string, argv []string) *daemon {
	t := l.t
	t.Helper()
	d := &daemon{t: t, name: name, dir: dir, out: new(syncBuffer), done: make(chan struct{})}
	d.cmd = exec.Command(argv[0], argv[1:]...)
	d.cmd.Dir = dir
	d.cmd.Env = append(os.Environ(), envMark+"=inherited")
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		d.stop(3 * time.Second)
		if t.Failed() || testing.Verbose() {
			t.Logf("%s said:\n%s", name, strings.TrimSpace(d.out.String()))
		}
	})
	return d
}

// waitFor waits until the daemon has printed text, failing the test if it
// exits or timeout passes first.
func (d *daemon) waitFor(text string, timeout time.Duration) {
	d.t.Helper()
	ok := waitUntil(timeout, func() bool {
		select {
		case <-d.done:
			return true
		default:
		}
		return strings.Contains(d.out.String(), text)
	})
	if !ok || !strings.Contains(d.out.String(), text) {
		d.t.Fatalf("%s did not print %q within %v (exit: %v); it said:\n%s", d.name, text, timeout, d.exited(), d.out.String())
	}
}

// exited returns how the daemon ended, or "still running".
func (d *daemon) exited() string {
	select {
	case <-d.done:
		if d.err == nil {
			return "exit status 0"
		}
		return d.err.Error()
	default:
		return "still running"
	}
}

// running reports whether the daemon is still running.
func (d *daemon) running() bool {
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// opened returns the lines the daemon's commands wrote, in write order.
func (d *daemon) opened() []string { return readOpened(d.dir) }

// stop sends SIGTERM and waits up to grace for the daemon to exit, then
// kills it. The processes it forked and left behind (knockd's command
// children, which call setsid) are killed too, by their process ids.
func (d *daemon) stop(grace time.Duration) {
	if d.running() {
		d.children = append(d.children, descendants(d.cmd.Process.Pid)...)
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(grace):
			d.cmd.Process.Kill()
			<-d.done
		}
	}
	for _, p := range d.children {
		p.kill()
	}
}

// A process is one process, told apart from a later one with the same id
// by its start time.
type process struct {
	pid   int
	start string // field 22 of /proc/PID/stat, in clock ticks since boot
}

// procStat returns the parent and the start time of process pid.
func procStat(pid int) (ppid int, start string, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 20 {
		return 0, "", fmt.Errorf("/proc/%d/stat: %d fields after the name", pid, len(fields))
	}
	ppid, err = strconv.Atoi(fields[1])
	return ppid, fields[19], err
}

// descendants returns every process below pid.
func descendants(pid int) []process {
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	started := map[int]string{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, start, err := procStat(p); err == nil {
			parent[p], started[p] = pp, start
		}
	}
	var out []process
	for p := range parent {
		for a := parent[p]; a > 1; a = parent[a] {
			if a == pid {
				out = append(out, process{pid: p, start: started[p]})
				break
			}
		}
	}
	return out
}

// kill kills the process if it is still the one found.
func (p process) kill() {
	if _, start, err := procStat(p.pid); err == nil && start == p.start {
		unix.Kill(p.pid, unix.SIGKILL)
	}
}

// A wire sends whole Ethernet frames out of the lab's client side, as if
// a host there had sent them: the injector of the scenarios' packets.
type wire struct {
	fd      int
	ifindex int
}

// openWire opens the lab's wire; it is closed when the test ends.
func (l *lab) openWire() *wire {
	l.t.Helper()
	w := &wire{fd: -1}
	err := l.cli.Do(func() error {
		ifi, err := net.InterfaceByName(cliIf)
		if err != nil {
			return err
		}
		// Protocol 0: this socket only sends, it receives nothing.
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return os.NewSyscallError("socket AF_PACKET", err)
		}
		w.fd, w.ifindex = fd, ifi.Index
		return nil
	})
	if err != nil {
		l.t.Fatalf("opening the lab's wire: %v", err)
	}
	l.t.Cleanup(func() { unix.Close(w.fd) })
	return w
}

// send puts one frame on the wire.
func (w *wire) send(frame []byte) error {
	to := &unix.SockaddrLinklayer{Ifindex: w.ifindex, Halen: 6}
	copy(to.Addr[:], srvMAC)
	if err := unix.Sendto(w.fd, frame, 0, to); err != nil {
		return os.NewSyscallError("sendto", err)
	}
	return nil
}

// play sends packets at their pace, the first at start, and fails the test
// if a frame cannot be built or sent.
func (w *wire) play(t *testing.T, start time.Time, packets []knockPacket) {
	t.Helper()
	for _, p := range packets {
		frame, err := p.frame()
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(start.Add(p.at)))
		if err := w.send(frame); err != nil {
			t.Fatalf("sending %+v: %v", p, err)
		}
	}
}

// alignedStart is the time to send a scenario's first packet: soon, and
// when align is set, at that offset into a wall-clock second.
func alignedStart(align time.Duration) time.Time {
	start := time.Now().Add(50 * time.Millisecond)
	if align == 0 {
		return start
	}
	at := start.Truncate(time.Second).Add(align)
	if at.Before(start) {
		at = at.Add(time.Second)
	}
	return at
}

// runLive runs sc on a lab: knockd and knockbeepd capture on the same
// interface with the same knockd.conf, each in a working directory of its
// own (with sc's files), and the scenario's packets are sent once, at
// their pace, for both. It returns once both daemons' commands have
// written what sc wants, or a few seconds after the last packet.
func runLive(t *testing.T, sc scenario) (knockd, knockbeepd *daemon) {
	t.Helper()
	needKnockd(t)
	l := newLab(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "knockd.conf")
	writeFile(t, conf, sc.conf())
	kd := l.startKnockd(workDir(t, dir, "knockd", sc), conf)
	kb := l.startKnockbeepd(workDir(t, dir, "knockbeepd", sc), conf)
	l.openWire().play(t, alignedStart(sc.align), sc.knocks)
	settle := sc.settle
	if settle == 0 {
		settle = 300 * time.Millisecond
	}
	waitUntil(3*time.Second+settle, func() bool {
		return len(kd.opened()) >= len(sc.knockdWant()) && len(kb.opened()) >= len(sc.want)
	})
	// Then a little longer, for commands neither should run.
	time.Sleep(settle)
	return kd, kb
}

// checkParity runs sc live through knockd and knockbeepd and checks that
// each ran the commands sc wants: the same ones, unless sc names a knockd
// defect. It returns the daemons, still running, for further checks.
func checkParity(t *testing.T, sc scenario) (knockd, knockbeepd *daemon) {
	t.Helper()
	kd, kb := runLive(t, sc)
	if d := diffLines(sc.outcome(sc.want), sc.outcome(kb.opened())); d != "" {
		t.Errorf("knockbeepd ran other commands %s", d)
	}
	if d := diffLines(sc.outcome(sc.knockdWant()), sc.outcome(kd.opened())); d != "" {
		if sc.knockdBug != "" {
			t.Errorf("knockd did not show its defect %q as expected: it ran other commands %s", sc.knockdBug, d)
		} else {
			t.Errorf("knockd ran other commands %s", d)
		}
	}
	return kd, kb
}

// A syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitUntil polls cond every 20 ms until it holds or timeout passes, and
// reports whether it held.
// waitWhileGrowing waits until count reaches n, for as long as it keeps
// growing: a busy machine runs a thousand commands slowly, and only a
// count that stops short (for idle) is a loss.
func waitWhileGrowing(n int, idle time.Duration, count func() int) {
	last, since := -1, time.Now()
	for {
		c := count()
		if c >= n {
			return
		}
		if c != last {
			last, since = c, time.Now()
		} else if time.Since(since) > idle {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
