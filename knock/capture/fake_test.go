package capture

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/knockbeep/knockbeep/clock/clocktest"
	"github.com/knockbeep/knockbeep/internal/logtest"
	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/decode"
)

// These tests run capture's own logic — reopening with backoff, filter
// swaps, merging interfaces — over fake rings, as any user: no socket is
// opened.

// fakeNet is an opener whose interfaces and rings the test controls.
type fakeNet struct {
	mu     sync.Mutex
	ifaces map[string]*fakeIface
	// lookups receives the name of every interface looked up once Open
	// has returned: each is a reopen attempt.
	lookups chan string
	started bool
}

type fakeIface struct {
	up        bool
	openErr   error     // the next opens fail with it
	filterErr error     // the rings opened refuse a new filter with it
	ring      *fakeRing // the ring open now, if any
	opened    []*fakeRing
}

func newFakeNet(names ...string) *fakeNet {
	n := &fakeNet{ifaces: map[string]*fakeIface{}, lookups: make(chan string, 100)}
	for _, name := range names {
		n.ifaces[name] = &fakeIface{up: true}
	}
	return n
}

func (n *fakeNet) lookup(name string) (exists, up bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started {
		n.lookups <- name
	}
	ifc, ok := n.ifaces[name]
	return ok, ok && ifc.up
}

func (n *fakeNet) names() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for name := range n.ifaces {
		out = append(out, name)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func (n *fakeNet) open(name string, c *compiledFilter, _ *slog.Logger) (ring, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	ifc := n.ifaces[name]
	if ifc.openErr != nil {
		return nil, ifc.openErr
	}
	r := &fakeRing{name: name, filter: c, filterErr: ifc.filterErr,
		frames: make(chan []byte, 100), fail: make(chan error, 1), closed: make(chan struct{})}
	ifc.ring = r
	ifc.opened = append(ifc.opened, r)
	return r, nil
}

// set changes the state of an interface, under n.mu.
func (n *fakeNet) set(name string, f func(*fakeIface)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	f(n.ifaces[name])
}

// ring returns the ring open on name now.
func (n *fakeNet) ring(name string) *fakeRing {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ifaces[name].ring
}

// nextLookup waits for the next reopen attempt and returns its interface.
func (n *fakeNet) nextLookup(t *testing.T) string {
	t.Helper()
	select {
	case name := <-n.lookups:
		return name
	case <-time.After(10 * time.Second):
		t.Fatal("no reopen attempt came")
		return ""
	}
}

// noLookup checks that no reopen attempt was made.
func (n *fakeNet) noLookup(t *testing.T, when string) {
	t.Helper()
	select {
	case name := <-n.lookups:
		t.Fatalf("%s: a reopen attempt on %s", when, name)
	default:
	}
}

// fakeRing hands out the frames the test gives it, raw IP.
type fakeRing struct {
	name      string
	frames    chan []byte
	fail      chan error // the next read fails with it
	closed    chan struct{}
	filterErr error

	mu     sync.Mutex
	filter *compiledFilter
	nDrops uint64
}

func (r *fakeRing) next() ([]byte, decode.LinkType, time.Time, error) {
	select {
	case f := <-r.frames:
		return f, decode.LinkRaw, fakeEpoch, nil
	case err := <-r.fail:
		return nil, 0, time.Time{}, err
	case <-time.After(5 * time.Millisecond): // the poll timeout
		return nil, 0, time.Time{}, errNoPacket
	}
}

func (r *fakeRing) setFilter(c *compiledFilter) error {
	if r.filterErr != nil {
		return r.filterErr
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.filter = c
	return nil
}

func (r *fakeRing) drops() (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nDrops, nil
}

func (r *fakeRing) close() error {
	close(r.closed) // a second close panics: a ring is closed once
	return nil
}

func (r *fakeRing) isClosed() bool {
	select {
	case <-r.closed:
		return true
	default:
		return false
	}
}

var fakeEpoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// rawSYN is a raw IPv4 TCP SYN from src to 10.9.0.1:port.
func rawSYN(t *testing.T, src string, port uint16) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP,
		SrcIP: netip.MustParseAddr(src).AsSlice(), DstIP: netip.MustParseAddr("10.9.0.1").AsSlice()}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: layers.TCPPort(port), SYN: true, Window: 1024}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, tcp); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// synFilter passes SYNs to ports, to any destination.
func synFilter(ports ...uint16) Filter {
	var f Filter
	for _, p := range ports {
		f.Rules = append(f.Rules, Rule{Proto: knock.TCP, Port: p, Flags: synOnly})
	}
	return f
}

// fakeRun is a Capture over a fakeNet, running, its events collected.
type fakeRun struct {
	c      *Capture
	net    *fakeNet
	clock  *clocktest.Fake
	log    *logtest.Buffer
	events chan knock.Event
	cancel context.CancelFunc
	done   chan error
}

func startFake(t *testing.T, n *fakeNet, ifaces []string, f Filter) *fakeRun {
	t.Helper()
	logger, logs := logtest.NewText(t)
	clk := clocktest.NewFake(fakeEpoch)
	c, err := open(ifaces, f, Options{Logger: logger, Clock: clk}, n)
	if err != nil {
		t.Fatal(err)
	}
	n.mu.Lock()
	n.started = true
	n.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	r := &fakeRun{c: c, net: n, clock: clk, log: logs, events: make(chan knock.Event, 100), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- c.Run(ctx, func(ev *knock.Event) { r.events <- *ev }) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *fakeRun) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// next waits for the next event.
func (r *fakeRun) next(t *testing.T) knock.Event {
	t.Helper()
	select {
	case ev := <-r.events:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event came")
		return knock.Event{}
	}
}

// Several interfaces are read at once and their knocks handed over from
// one goroutine: every knock arrives, each interface's in its order, and
// each interface counts its own packets, knocks and drops.
func TestFakeMergesInterfaces(t *testing.T) {
	n := newFakeNet("a", "b", "c")
	r := startFake(t, n, []string{"a", "b", "c"}, synFilter(1000, 1001, 1002))
	srcs := map[string]string{"a": "10.0.0.1", "b": "10.0.0.2", "c": "10.0.0.3"}
	for name, src := range srcs {
		ring := n.ring(name)
		ring.mu.Lock()
		ring.nDrops = uint64(len(name)) * 7
		ring.mu.Unlock()
		for _, port := range []uint16{1000, 3000, 1001, 1002} { // 3000 is not a knock
			ring.frames <- rawSYN(t, src, port)
		}
	}
	got := map[string][]uint16{}
	for range 9 {
		ev := r.next(t)
		got[ev.Src.String()] = append(got[ev.Src.String()], ev.Port)
	}
	for name, src := range srcs {
		if want := []uint16{1000, 1001, 1002}; !slices.Equal(got[src], want) {
			t.Errorf("interface %s: knocks on %v, want %v in that order", name, got[src], want)
		}
	}
	st := r.c.Stats()
	if len(st.Interfaces) != 3 {
		t.Fatalf("Stats has %d interfaces, want 3", len(st.Interfaces))
	}
	for i, ifc := range st.Interfaces {
		want := InterfaceStats{Name: []string{"a", "b", "c"}[i], Up: true, Counters: Counters{Packets: 4, Events: 3, Drops: 7}}
		if ifc != want {
			t.Errorf("Stats().Interfaces[%d] = %+v, want %+v", i, ifc, want)
		}
	}
	if tot := st.Total(); tot.Packets != 12 || tot.Events != 9 || tot.Drops != 21 {
		t.Errorf("Stats().Total() = %+v, want 12 packets, 9 knocks, 21 drops", tot)
	}
}

// An interface that fails is closed and reopened after 250 ms, 500 ms,
// 1 s … up to 10 s between attempts, while it stays down; the other
// interfaces carry on meanwhile; once it is back, its knocks arrive
// again, and it counts the reopen and the drops of the ring it lost.
func TestFakeReopenWithBackoff(t *testing.T) {
	n := newFakeNet("a", "b")
	r := startFake(t, n, []string{"a", "b"}, synFilter(1000))
	first := n.ring("a")
	first.mu.Lock()
	first.nDrops = 5
	first.mu.Unlock()
	n.set("a", func(i *fakeIface) { i.up = false })
	first.fail <- errors.New("capture: a: socket error: the interface went down or away")

	delays := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
		4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, d := range delays {
		if !r.clock.WaitPending(1, 10*time.Second) {
			t.Fatalf("attempt %d: no retry timer armed", i+1)
		}
		if i == 0 {
			select {
			case <-first.closed:
			default:
				t.Fatal("the failed ring is still open while the capture waits to retry")
			}
			if st := r.c.Stats().Interfaces[0]; st.Up {
				t.Errorf("Stats says a is up while it is being retried")
			}
		}
		r.clock.Advance(d - time.Millisecond)
		n.noLookup(t, "before the backoff delay")
		// The other interface is read meanwhile.
		n.ring("b").frames <- rawSYN(t, "10.0.0.2", 1000)
		if ev := r.next(t); ev.Src != netip.MustParseAddr("10.0.0.2") {
			t.Fatalf("knock from %v, want b's", ev.Src)
		}
		if i == len(delays)-1 {
			n.set("a", func(i *fakeIface) { i.up = true })
		}
		r.clock.Advance(time.Millisecond)
		if got := n.nextLookup(t); got != "a" {
			t.Fatalf("attempt %d on %s, want a", i+1, got)
		}
	}
	r.log.WaitFor(t, "capture: capturing again", 10*time.Second)
	second := n.ring("a")
	if second == first {
		t.Fatal("no new ring was opened")
	}
	second.frames <- rawSYN(t, "10.0.0.1", 1000)
	if ev := r.next(t); ev.Src != netip.MustParseAddr("10.0.0.1") {
		t.Fatalf("knock from %v, want a's after the reopen", ev.Src)
	}
	st := r.c.Stats().Interfaces[0]
	if !st.Up || st.Reopens != 1 || st.Drops != 5 || st.Events != 1 {
		t.Errorf("Stats for a = %+v, want up, 1 reopen, the lost ring's 5 drops, 1 knock", st)
	}
	// The reason was logged once, not at every attempt.
	if c := strings.Count(r.log.String(), "interface unavailable"); c != 1 {
		t.Errorf("the outage was logged %d times, want once:\n%s", c, r.log.String())
	}
}

// A ring that refuses a new filter is reopened with it: SetFilter
// succeeds, the new filter decides at once in user space, and the
// reopened ring gets it in the kernel.
func TestFakeFailedFilterSwap(t *testing.T) {
	n := newFakeNet("a", "b")
	r := startFake(t, n, []string{"a", "b"}, synFilter(1000))
	old := n.ring("a")
	n.set("a", func(i *fakeIface) { i.filterErr = errors.New("setsockopt: no buffer space") })
	old.filterErr = errors.New("setsockopt: no buffer space")

	if err := r.c.SetFilter(synFilter(2000)); err != nil {
		t.Fatalf("SetFilter: %v; want nil: the reader reopens the ring that refused", err)
	}
	if !strings.Contains(r.log.String(), "cannot set the new filter; reopening") {
		t.Errorf("the refusal was not logged:\n%s", r.log.String())
	}
	// b took the new filter in place.
	b := n.ring("b")
	b.mu.Lock()
	bFilter := b.filter
	b.mu.Unlock()
	if bFilter != r.c.filter.Load() {
		t.Error("b's ring does not have the new filter")
	}
	// The user-space check follows at once on b: 1000 no longer passes.
	b.frames <- rawSYN(t, "10.0.0.2", 1000)
	b.frames <- rawSYN(t, "10.0.0.2", 2000)
	if ev := r.next(t); ev.Port != 2000 {
		t.Fatalf("knock on %d, want 2000: the old filter still decides", ev.Port)
	}

	n.set("a", func(i *fakeIface) { i.filterErr = nil })
	if !r.clock.WaitPending(1, 10*time.Second) {
		t.Fatal("the stale ring is not being reopened")
	}
	if !old.isClosed() {
		t.Error("the ring that refused the filter is still open")
	}
	r.clock.Advance(retryFirst)
	if got := n.nextLookup(t); got != "a" {
		t.Fatalf("reopen attempt on %s, want a", got)
	}
	r.log.WaitFor(t, "capture: capturing again", 10*time.Second)
	fresh := n.ring("a")
	if fresh == old || fresh.filter != r.c.filter.Load() {
		t.Fatal("a was not reopened with the new filter")
	}
	fresh.frames <- rawSYN(t, "10.0.0.1", 2000)
	if ev := r.next(t); ev.Port != 2000 || ev.Src != netip.MustParseAddr("10.0.0.1") {
		t.Fatalf("knock %v:%d, want a's on 2000", ev.Src, ev.Port)
	}
	if st := r.c.Stats().Interfaces[0]; st.Reopens != 1 || !st.Up {
		t.Errorf("Stats for a = %+v, want up after 1 reopen", st)
	}
}

// Open checks the interfaces with the opener, and a ring that cannot be
// opened leaves none of the others open.
func TestFakeOpenErrors(t *testing.T) {
	n := newFakeNet("a", "b")
	if _, err := open([]string{"a", "zz"}, synFilter(1000), Options{}, n); err == nil || !strings.Contains(err.Error(), `no interface "zz" on this host (it has: a, b)`) {
		t.Errorf("open(a, zz) error = %v, want the missing interface and the list", err)
	}
	n.set("b", func(i *fakeIface) { i.openErr = errors.New("capture: opening b needs CAP_NET_RAW") })
	_, err := open([]string{"a", "b"}, synFilter(1000), Options{}, n)
	if err == nil || !strings.Contains(err.Error(), "CAP_NET_RAW") {
		t.Fatalf("open(a, b) error = %v, want b's", err)
	}
	if a := n.ring("a"); a == nil || !a.isClosed() {
		t.Error("a's ring was left open after b failed")
	}
}

// loopRing hands out one frame n times, then ends like a file.
type loopRing struct {
	frame []byte
	n     int
}

func (r *loopRing) next() ([]byte, decode.LinkType, time.Time, error) {
	if r.n == 0 {
		return nil, 0, time.Time{}, io.EOF
	}
	r.n--
	return r.frame, decode.LinkRaw, fakeEpoch, nil
}
func (r *loopRing) setFilter(*compiledFilter) error { return nil }
func (r *loopRing) drops() (uint64, error)          { return 0, nil }
func (r *loopRing) close() error                    { return nil }

// Run's loop — read, count, decode, filter, deliver — allocates nothing
// per packet: a capture of 10,000 knocks allocates what one of 10 does.
func TestRunAllocatesNothingPerPacket(t *testing.T) {
	frame := rawSYN(t, "10.0.0.1", 1000)
	cf, err := compile(synFilter(1000))
	if err != nil {
		t.Fatal(err)
	}
	allocs := func(n int) float64 {
		return testing.AllocsPerRun(5, func() {
			c := newCapture(cf, Options{Logger: slog.New(slog.DiscardHandler)})
			c.addSource("loop", &loopRing{frame: frame, n: n})
			got := 0
			if err := c.Run(context.Background(), func(*knock.Event) { got++ }); err != nil || got != n {
				t.Fatalf("Run: %d knocks, err %v; want %d", got, err, n)
			}
		})
	}
	few, many := allocs(10), allocs(10_000)
	if many > few {
		t.Errorf("a capture of 10,000 knocks allocated %v times, one of 10 %v: want no allocation per packet", many, few)
	}
}

// batchRing hands out its batches of frames, each batch ready at once
// (more says so), with a poll timeout between batches, then ends.
type batchRing struct {
	batches [][][]byte
	gap     bool // the current batch is used up: a poll timeout first
}

func (r *batchRing) next() ([]byte, decode.LinkType, time.Time, error) {
	if r.gap || len(r.batches) > 0 && len(r.batches[0]) == 0 {
		r.gap = false
		r.batches = r.batches[1:]
		return nil, 0, time.Time{}, errNoPacket
	}
	if len(r.batches) == 0 {
		return nil, 0, time.Time{}, io.EOF
	}
	f := r.batches[0][0]
	r.batches[0] = r.batches[0][1:]
	r.gap = len(r.batches[0]) == 0
	return f, decode.LinkRaw, fakeEpoch, nil
}
func (r *batchRing) more() bool                      { return len(r.batches) > 0 && len(r.batches[0]) > 0 }
func (r *batchRing) setFilter(*compiledFilter) error { return nil }
func (r *batchRing) drops() (uint64, error)          { return 0, nil }
func (r *batchRing) close() error                    { return nil }

// RunBatched flushes once a batch, after its last knock, however many
// frames of the batch the filter passed; a batch without a knock is not
// flushed. A ring that cannot tell where a batch ends is flushed after
// every knock.
func TestRunBatchedFlushesOnceABatch(t *testing.T) {
	knock1, knock2, other := rawSYN(t, "10.0.0.1", 1000), rawSYN(t, "10.0.0.2", 1000), rawSYN(t, "10.0.0.3", 2000)
	cf, err := compile(synFilter(1000))
	if err != nil {
		t.Fatal(err)
	}
	run := func(r ring) string {
		c := newCapture(cf, Options{Logger: slog.New(slog.DiscardHandler)})
		c.addSource("batches", r)
		var got []string
		err := c.RunBatched(context.Background(), func(ev *knock.Event) {
			got = append(got, ev.Src.String())
		}, func() { got = append(got, "flush") })
		if err != nil {
			t.Fatalf("RunBatched: %v", err)
		}
		return strings.Join(got, " ")
	}
	batches := [][][]byte{{knock1, other, knock2, other}, {other}, {knock2}}
	want := "10.0.0.1 10.0.0.2 flush 10.0.0.2 flush"
	if got := run(&batchRing{batches: batches}); got != want {
		t.Errorf("batches (-want +got):\n-%s\n+%s", want, got)
	}
	want = "10.0.0.1 flush 10.0.0.2 flush"
	if got := run(&loopRing{frame: knock1, n: 1}) + " " + run(&loopRing{frame: knock2, n: 1}); got != want {
		t.Errorf("a ring without more (-want +got):\n-%s\n+%s", want, got)
	}
}
