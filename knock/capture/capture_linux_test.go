package capture

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/knockbeep/knockbeep/internal/logtest"
	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/send"
)

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: opening a capture needs CAP_NET_RAW")
	}
}

// testPorts returns n consecutive ports picked at random, so that a late
// packet of one test cannot count in the next: every test of a run shares
// the namespace TestMain made.
func testPorts(n int) []uint16 {
	base := 20000 + rand.IntN(30000)
	ports := make([]uint16, n)
	for i := range ports {
		ports[i] = uint16(base + i)
	}
	return ports
}

// running is a Capture whose Run goroutine collects every event.
type running struct {
	c      *Capture
	log    *logtest.Buffer
	cancel context.CancelFunc
	done   chan error

	mu      sync.Mutex
	events  []knock.Event
	arrived chan struct{}
}

func start(t *testing.T, ifaces []string, f Filter) *running {
	t.Helper()
	r := &running{done: make(chan error, 1), arrived: make(chan struct{})}
	logger, logs := logtest.NewText(t)
	r.log = logs
	c, err := Open(ifaces, f, Options{Logger: logger})
	if err != nil {
		t.Fatalf("Open(%v) error: %v", ifaces, err)
	}
	r.c = c
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		r.done <- c.Run(ctx, func(ev *knock.Event) {
			r.mu.Lock()
			r.events = append(r.events, *ev)
			close(r.arrived)
			r.arrived = make(chan struct{})
			r.mu.Unlock()
		})
	}()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop ends Run and checks that it returns promptly and cleanly.
func (r *running) stop(t *testing.T) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run() error: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Errorf("Run() still running 2s after its context ended")
	}
}

// waitFor waits until keep accepts n events, and returns those.
func (r *running) waitFor(t *testing.T, n int, timeout time.Duration, keep func(knock.Event) bool) []knock.Event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		var got []knock.Event
		for _, e := range r.events {
			if keep(e) {
				got = append(got, e)
			}
		}
		arrived := r.arrived
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-arrived:
		case <-deadline:
			return got
		}
	}
}

func toPort(port uint16) func(knock.Event) bool {
	return func(e knock.Event) bool { return e.Port == port }
}

func knockOn(t *testing.T, addr string, proto knock.Proto, port uint16) {
	t.Helper()
	err := send.NewSender(netip.MustParseAddr(addr), send.Options{}).Knock(context.Background(), send.Target{Port: port, Proto: proto})
	if err != nil {
		t.Fatalf("knock on %s %v/%d: %v", addr, proto, port, err)
	}
}

// settle is how long a test waits for duplicates after the events it
// expects arrived: far beyond the 1 ms ring block timeout.
const settle = 300 * time.Millisecond

// expectOnce knocks and checks the capture delivers exactly one event,
// equal to want apart from its time.
func expectOnce(t *testing.T, r *running, want knock.Event, knockFn func()) {
	t.Helper()
	sent := time.Now()
	knockFn()
	got := r.waitFor(t, 1, 3*time.Second, toPort(want.Port))
	if len(got) == 0 {
		t.Fatalf("no event for the knock %v > %v %v/%d\nlog:\n%s", want.Src, want.Dst, want.Proto, want.Port, r.log)
	}
	time.Sleep(settle)
	got = r.waitFor(t, 2, 0, toPort(want.Port))
	if len(got) != 1 {
		t.Errorf("knock on %v/%d delivered %d times, want once:%s", want.Proto, want.Port, len(got), showEvents(got))
	}
	ev := got[0]
	if ev.Time.Before(sent.Add(-time.Second)) || ev.Time.After(time.Now()) {
		t.Errorf("event time %v, want the capture time, between %v and now", ev.Time, sent)
	}
	ev.Time = time.Time{}
	// The knock came from a port the kernel chose: any but 0, where a
	// reply to it would go.
	if ev.SrcPort == 0 {
		t.Errorf("event %v has no source port", ev)
	}
	ev.SrcPort = 0
	if ev != want {
		t.Errorf("event mismatch (-want +got):%s%s", showEvents([]knock.Event{want}), showEvents([]knock.Event{ev}))
	}
}

func TestLiveLoopback(t *testing.T) {
	needNetns(t)
	p := testPorts(4)
	r := start(t, []string{"lo"}, Filter{
		Rules: []Rule{{knock.TCP, p[0], synOnly}, {knock.TCP, p[1], synOnly}, {knock.UDP, p[2], knock.FlagMatch{}}},
		Dst:   []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")},
	})
	expectOnce(t, r, ev("127.0.0.1", "127.0.0.1", knock.TCP, p[0], knock.SYN), func() { knockOn(t, "127.0.0.1", knock.TCP, p[0]) })
	expectOnce(t, r, ev("::1", "::1", knock.TCP, p[1], knock.SYN), func() { knockOn(t, "::1", knock.TCP, p[1]) })
	expectOnce(t, r, ev("127.0.0.1", "127.0.0.1", knock.UDP, p[2], 0), func() { knockOn(t, "127.0.0.1", knock.UDP, p[2]) })

	// A port the filter does not list never reaches user space.
	before := r.c.Stats().Total().Packets
	knockOn(t, "127.0.0.1", knock.TCP, p[3])
	time.Sleep(settle)
	if n := r.waitFor(t, 1, 0, toPort(p[3])); len(n) != 0 {
		t.Errorf("knock on an unlisted port delivered:%s", showEvents(n))
	}
	st := r.c.Stats()
	if len(st.Interfaces) != 1 || st.Interfaces[0].Name != "lo" || !st.Interfaces[0].Up {
		t.Fatalf("Stats() = %+v, want one entry for lo, up", st)
	}
	tot := st.Total()
	if tot.Events != 3 || tot.Drops != 0 || tot.DecodeErrors != 0 || tot.Packets > before+1 {
		// The RST answering the unlisted knock and the SYN itself are
		// filtered in the kernel: at most one stray packet may have
		// arrived before the filter did.
		t.Errorf("Stats().Total() = %+v, want 3 events, no drops or decode errors, and no new packet for the unlisted port (had %d)", tot, before)
	}
}

// TestLiveSetFilter changes the doors while running: the new port is
// delivered, the old one no longer.
func TestLiveSetFilter(t *testing.T) {
	needNetns(t)
	p := testPorts(2)
	r := start(t, []string{"lo"}, Filter{Rules: []Rule{{knock.TCP, p[0], synOnly}}})
	expectOnce(t, r, ev("127.0.0.1", "127.0.0.1", knock.TCP, p[0], knock.SYN), func() { knockOn(t, "127.0.0.1", knock.TCP, p[0]) })
	if err := r.c.SetFilter(Filter{Rules: []Rule{{knock.TCP, p[1], synOnly}}}); err != nil {
		t.Fatalf("SetFilter() error: %v", err)
	}
	expectOnce(t, r, ev("::1", "::1", knock.TCP, p[1], knock.SYN), func() { knockOn(t, "::1", knock.TCP, p[1]) })
	knockOn(t, "127.0.0.1", knock.TCP, p[0])
	time.Sleep(settle)
	if got := r.waitFor(t, 2, 0, toPort(p[0])); len(got) != 1 {
		t.Errorf("old door port delivered %d times after SetFilter, want only the knock before:%s", len(got), showEvents(got))
	}
	if err := r.c.SetFilter(Filter{Rules: []Rule{{Proto: 1}}}); err == nil {
		t.Errorf("SetFilter() with an ICMP rule succeeded, want an error")
	}
}

// vethNetns is a veth pair from the test's network namespace (see
// TestMain) to a peer namespace: the test's end is hostIf with
// 198.18.N.1/24 and 2001:2:0:N::1/64, the peer's end peer0 with .2 and ::2.
// The addresses are from the ranges set aside for benchmarking networks
// (RFC 2544, RFC 5180), which no real network routes.
type vethNetns struct {
	peer         *peerNetns
	hostIf       string
	host4, peer4 string
	host6, peer6 string
	peerIf       string
}

var vethCount int

func newVethNetns(t *testing.T) *vethNetns {
	t.Helper()
	vethCount++
	n := vethCount % 256
	v := &vethNetns{
		peer:   newPeerNetns(t),
		hostIf: fmt.Sprintf("kbc%d", vethCount),
		peerIf: "peer0",
		host4:  fmt.Sprintf("198.18.%d.1", n), peer4: fmt.Sprintf("198.18.%d.2", n),
		host6: fmt.Sprintf("2001:2:0:%x::1", n), peer6: fmt.Sprintf("2001:2:0:%x::2", n),
	}
	v.addLink(t)
	return v
}

// addLink creates (or recreates) the veth pair.
func (v *vethNetns) addLink(t *testing.T) {
	t.Helper()
	run(t, "ip", "link", "add", v.hostIf, "type", "veth", "peer", "name", v.peerIf, "netns", strconv.Itoa(v.peer.tid))
	t.Cleanup(func() { exec.Command("ip", "link", "del", v.hostIf).Run() })
	run(t, "ip", "addr", "add", v.host4+"/24", "dev", v.hostIf)
	run(t, "ip", "addr", "add", v.host6+"/64", "dev", v.hostIf, "nodad")
	run(t, "ip", "link", "set", v.hostIf, "up")
	v.peer.run(t, "ip", "addr", "add", v.peer4+"/24", "dev", v.peerIf)
	v.peer.run(t, "ip", "addr", "add", v.peer6+"/64", "dev", v.peerIf, "nodad")
	v.peer.run(t, "ip", "link", "set", v.peerIf, "up")
}

// A peerNetns is a network namespace that one OS thread of the test
// process has entered and holds. It has no name, so nothing outlives the
// process: the kernel deletes it, and the veth ends in it, when the thread
// ends at the test's end or with the process.
type peerNetns struct {
	tid  int // the thread: "ip link ... netns TID" moves a link here
	work chan func()
}

func newPeerNetns(t *testing.T) *peerNetns {
	t.Helper()
	p := &peerNetns{work: make(chan func())}
	ready := make(chan error, 1)
	go func() {
		// Never unlocked: when this goroutine returns the runtime
		// ends the thread instead of running other goroutines in the
		// peer's namespace.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ready <- os.NewSyscallError("unshare(CLONE_NEWNET)", err)
			return
		}
		p.tid = unix.Gettid()
		ready <- nil
		for fn := range p.work {
			fn()
		}
	}()
	if err := <-ready; err != nil {
		t.Fatalf("making the peer's network namespace: %v", err)
	}
	t.Cleanup(func() { close(p.work) })
	return p
}

// Do runs fn on the thread inside the namespace: sockets fn opens and
// processes it starts belong to the namespace.
func (p *peerNetns) Do(fn func() error) error {
	done := make(chan error, 1)
	p.work <- func() { done <- fn() }
	return <-done
}

// run runs a command inside the namespace and fails the test if it fails.
func (p *peerNetns) run(t *testing.T, argv ...string) {
	t.Helper()
	var out []byte
	err := p.Do(func() error {
		var err error
		out, err = exec.Command(argv[0], argv[1:]...).CombinedOutput()
		return err
	})
	if err != nil {
		t.Fatalf("in the peer's namespace: %s: %v: %s", strings.Join(argv, " "), err, out)
	}
}

func run(t *testing.T, argv ...string) {
	t.Helper()
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(argv, " "), err, out)
	}
}

// knockFromPeer knocks from inside the namespace on the host's end.
func (v *vethNetns) knockFromPeer(t *testing.T, addr string, proto knock.Proto, port uint16) {
	t.Helper()
	err := v.peer.Do(func() error {
		return send.NewSender(netip.MustParseAddr(addr), send.Options{}).Knock(context.Background(), send.Target{Port: port, Proto: proto})
	})
	if err != nil {
		t.Fatalf("knock from the namespace on %s %v/%d: %v", addr, proto, port, err)
	}
}

// TestLiveAny captures on every interface: loopback knocks once each, and
// knocks arriving over a veth pair, including one created after Run began.
func TestLiveAny(t *testing.T) {
	needNetns(t)
	p := testPorts(5)
	var rules []Rule
	for _, port := range p {
		rules = append(rules, Rule{knock.TCP, port, synOnly})
	}
	before := newVethNetns(t)
	r := start(t, []string{Any}, Filter{Rules: rules})
	expectOnce(t, r, ev("127.0.0.1", "127.0.0.1", knock.TCP, p[0], knock.SYN), func() { knockOn(t, "127.0.0.1", knock.TCP, p[0]) })
	expectOnce(t, r, ev("::1", "::1", knock.TCP, p[1], knock.SYN), func() { knockOn(t, "::1", knock.TCP, p[1]) })
	expectOnce(t, r, ev(before.peer4, before.host4, knock.TCP, p[2], knock.SYN), func() { before.knockFromPeer(t, before.host4, knock.TCP, p[2]) })

	later := newVethNetns(t)
	expectOnce(t, r, ev(later.peer6, later.host6, knock.TCP, p[3], knock.SYN), func() { later.knockFromPeer(t, later.host6, knock.TCP, p[3]) })

	// A SYN this host sends out of the veth is not a knock.
	knockOn(t, later.peer4, knock.TCP, p[4])
	time.Sleep(settle)
	if got := r.waitFor(t, 1, 0, toPort(p[4])); len(got) != 0 {
		t.Errorf("outgoing SYN delivered as a knock:%s", showEvents(got))
	}
}

// TestLiveInterfaceGoesAway captures on lo and a veth; the veth goes down,
// comes back, is deleted and created again. Loopback knocks keep arriving
// throughout, and the veth is captured again each time it returns.
func TestLiveInterfaceGoesAway(t *testing.T) {
	needNetns(t)
	v := newVethNetns(t)
	p := testPorts(6)
	var rules []Rule
	for _, port := range p {
		rules = append(rules, Rule{knock.TCP, port, synOnly})
	}
	r := start(t, []string{"lo", v.hostIf}, Filter{Rules: rules})
	expectOnce(t, r, ev(v.peer4, v.host4, knock.TCP, p[0], knock.SYN), func() { v.knockFromPeer(t, v.host4, knock.TCP, p[0]) })

	run(t, "ip", "link", "set", v.hostIf, "down")
	waitLog(t, r, "interface failed")
	run(t, "ip", "link", "set", v.hostIf, "up")
	expectEventually(t, r, p[1], func() { v.knockFromPeer(t, v.host4, knock.TCP, p[1]) })

	run(t, "ip", "link", "del", v.hostIf)
	waitLog(t, r, "is gone")
	expectOnce(t, r, ev("127.0.0.1", "127.0.0.1", knock.TCP, p[2], knock.SYN), func() { knockOn(t, "127.0.0.1", knock.TCP, p[2]) })
	if st := r.c.Stats(); st.Interfaces[1].Up {
		t.Errorf("Stats() says %s is up while it does not exist", v.hostIf)
	}

	v.addLink(t)
	expectEventually(t, r, p[3], func() { v.knockFromPeer(t, v.host6, knock.TCP, p[3]) })
	st := r.c.Stats()
	if !st.Interfaces[1].Up || st.Interfaces[1].Reopens < 2 {
		t.Errorf("Stats() for %s = %+v, want up, reopened at least twice", v.hostIf, st.Interfaces[1])
	}
	if !strings.Contains(r.log.String(), "capturing again") {
		t.Errorf("log does not say the interface is captured again:\n%s", r.log)
	}
}

// waitLog waits for the capture to log text.
func waitLog(t *testing.T, r *running, text string) {
	t.Helper()
	r.log.WaitFor(t, text, 5*time.Second)
}

// expectEventually knocks every 200 ms until the capture, retrying an
// interface with backoff, delivers the port.
func expectEventually(t *testing.T, r *running, port uint16, knockFn func()) {
	t.Helper()
	for deadline := time.Now().Add(retryMax + 5*time.Second); time.Now().Before(deadline); {
		knockFn()
		if got := r.waitFor(t, 1, 200*time.Millisecond, toPort(port)); len(got) > 0 {
			return
		}
	}
	t.Fatalf("no event on port %d after the interface came back\nlog:\n%s", port, r.log)
}

// TestOpenWithoutCapability drops CAP_NET_RAW from the calling thread and
// checks that Open says what is missing.
func TestOpenWithoutCapability(t *testing.T) {
	needRoot(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var caps [2]unix.CapUserData
	if err := unix.Capget(&hdr, &caps[0]); err != nil {
		t.Fatalf("capget: %v", err)
	}
	saved := caps
	caps[unix.CAP_NET_RAW/32].Effective &^= 1 << (unix.CAP_NET_RAW % 32)
	if err := unix.Capset(&hdr, &caps[0]); err != nil {
		t.Fatalf("capset: %v", err)
	}
	_, err := Open([]string{"lo"}, musicDoors, Options{})
	if err := unix.Capset(&hdr, &saved[0]); err != nil {
		t.Fatalf("capset restoring the capabilities: %v", err)
	}
	const want = "capture: opening lo needs CAP_NET_RAW (run as root)"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Open() without CAP_NET_RAW: error = %v, want %q", err, want)
	}
}
