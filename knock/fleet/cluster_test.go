package fleet

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/knockbeep/knockbeep/clock"
	"github.com/knockbeep/knockbeep/knock/fleet/fleettest"
)

// testFleet is a set of node identities in a temp dir: key files, one
// trust list, one state dir a node.
type testFleet struct {
	dir   string
	trust string
	keys  []string
}

func newTestFleet(t testing.TB, n int) *testFleet {
	t.Helper()
	f := &testFleet{dir: t.TempDir()}
	var lines []string
	for i := range n {
		path := filepath.Join(f.dir, fmt.Sprintf("node%d.key", i))
		pub, err := GenerateKeyFile(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		f.keys = append(f.keys, path)
		lines = append(lines, PublicLine(pub)+fmt.Sprintf(" node%d", i))
	}
	f.trust = filepath.Join(f.dir, "fleet.pub")
	if err := os.WriteFile(f.trust, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *testFleet) config(i int) Config {
	return Config{Name: "test", NodeKey: f.keys[i], Trust: f.trust}
}

// serving is node i's config with an embedded server of its own on a
// loopback port chosen at run time.
func (f *testFleet) serving(t testing.TB, i int) Config {
	cfg := f.config(i)
	cfg.Serve = "127.0.0.1:-1"
	cfg.ServerProgram = fleettest.ServerProgram(t)
	return cfg
}

// openNode opens a node that the test's end closes.
func openNode(t testing.TB, cfg Config, opts Options) *Node {
	t.Helper()
	nd, err := Open(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nd.Close() })
	return nd
}

func (f *testFleet) opts(t testing.TB, i int) Options {
	return Options{StateDir: filepath.Join(f.dir, fmt.Sprintf("state%d", i)), Logger: testLogger(t, i)}
}

func testLogger(t testing.TB, i int) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("node", i)
	}
	return nil
}

// embeddedCluster runs n nodes with embedded servers on loopback ports
// chosen at run time, node 0 listening for routes and the others routed
// to it (the servers gossip the rest of the mesh).
type embeddedCluster struct {
	f     *testFleet
	cfgs  []Config
	nodes []*Node
}

func startCluster(t testing.TB, n int) *embeddedCluster {
	t.Helper()
	c := &embeddedCluster{f: newTestFleet(t, n), cfgs: make([]Config, n), nodes: make([]*Node, n)}
	// Every node lists every route, its own too (a server ignores a
	// route to itself), as one config file shared by a fleet would.
	// The route ports are picked free at run time; the client ports are
	// left to the server (-1).
	listens := make([]string, n)
	var routes []string
	for i := range n {
		listens[i] = freeAddr(t)
		routes = append(routes, "nats-route://"+listens[i])
	}
	for i := range n {
		cfg := c.f.config(i)
		cfg.Serve = "127.0.0.1:-1"
		cfg.ServerProgram = fleettest.ServerProgram(t)
		cfg.ClusterListen = listens[i]
		cfg.Routes = routes
		cfg.Replicas = n
		c.cfgs[i] = cfg
		c.open(t, i)
		// Restarts come back on the same port, as a real node would.
		c.cfgs[i].Serve = strings.TrimPrefix(c.nodes[i].ClientURL(), "nats://")
	}
	c.ready(t)
	t.Cleanup(func() {
		for _, nd := range c.nodes {
			if nd != nil {
				nd.Close()
			}
		}
	})
	return c
}

func (c *embeddedCluster) open(t testing.TB, i int) {
	t.Helper()
	nd, err := Open(context.Background(), c.cfgs[i], c.f.opts(t, i))
	if err != nil {
		t.Fatalf("node %d: %v", i, err)
	}
	c.nodes[i] = nd
}

func (c *embeddedCluster) stop(i int) {
	c.nodes[i].Close()
	c.nodes[i] = nil
}

func (c *embeddedCluster) ready(t testing.TB) {
	t.Helper()
	for i, nd := range c.nodes {
		if nd == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		err := nd.Ready(ctx)
		cancel()
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}
}

// plainJS is an ordinary client of node i's server: what an attacker who
// reached the NATS port, or a test altering the stream, uses.
func (c *embeddedCluster) plainJS(t testing.TB, i int) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(c.nodes[i].ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// recv waits for one opening, failing after a generous bound (a missing
// delivery, not a slow one, is what it catches).
func recv(t testing.TB, nd *Node) Opening {
	t.Helper()
	select {
	case o := <-nd.Openings():
		return o
	case <-time.After(20 * time.Second):
		t.Fatal("no opening delivered")
		return Opening{}
	}
}

// none checks that no opening arrives while a later marker opening does:
// the marker is published after everything that must not arrive, and one
// stream delivers in order, so waiting for it is enough.
func noneBefore(t testing.TB, nd *Node, marker string) {
	t.Helper()
	for {
		o := recv(t, nd)
		if o.Door == marker {
			return
		}
		t.Errorf("unexpected opening %+v before the marker", o)
	}
}

var knocker = netip.MustParseAddr("192.0.2.7")

func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node NATS cluster")
	}
	c := startCluster(t, 3)
	a, b, cc := c.nodes[0], c.nodes[1], c.nodes[2]
	ctx := context.Background()

	t.Run("claim", func(t *testing.T) {
		first, err := a.Claim(ctx, "door ssh period 42 seq 1-2-3", time.Minute)
		if err != nil || !first {
			t.Fatalf("first claim at A = %v, %v; want true, nil", first, err)
		}
		for i, nd := range []*Node{b, cc, a} {
			first, err := nd.Claim(ctx, "door ssh period 42 seq 1-2-3", time.Minute)
			if err != nil || first {
				t.Errorf("claim again at node %d = %v, %v; want false, nil", i, first, err)
			}
		}
		// Many claims of one key at once, from all three nodes: one wins.
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for i := range 30 {
			wg.Go(func() {
				first, err := c.nodes[i%3].Claim(ctx, "raced", time.Minute)
				if err != nil {
					t.Error(err)
				}
				if first {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Errorf("%d claims won a race for one key, want 1", wins)
		}
	})

	t.Run("claim expires", func(t *testing.T) {
		first, err := a.Claim(ctx, "short", time.Second)
		if err != nil || !first {
			t.Fatalf("claim = %v, %v", first, err)
		}
		// The server removes the key after its TTL; poll for that (the
		// bound is generous: it catches a key that never expires).
		deadline := time.Now().Add(30 * time.Second)
		for {
			first, err := b.Claim(ctx, "short", time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if first {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("a claim with a 1 s TTL never expired")
			}
			time.Sleep(200 * time.Millisecond)
		}
	})

	t.Run("openings", func(t *testing.T) {
		until := time.Now().Add(time.Hour).Truncate(time.Second)
		if err := a.PublishOpening(ctx, "ssh", knocker, until); err != nil {
			t.Fatal(err)
		}
		for i, nd := range []*Node{b, cc} {
			o := recv(t, nd)
			if o.Door != "ssh" || o.Addr != knocker || !o.Until.Equal(until) || o.Node != a.ID() {
				t.Errorf("node %d got %+v", i+1, o)
			}
		}
		// A's own opening is not handed back to A: B's marker comes first.
		if err := b.PublishOpening(ctx, "marker-b", knocker, until); err != nil {
			t.Fatal(err)
		}
		noneBefore(t, a, "marker-b")
		noneBefore(t, cc, "marker-b")
	})

	t.Run("attacker on the openings subject", func(t *testing.T) {
		nc, _ := c.plainJS(t, 1)
		js, _ := jetstream.New(nc)
		mallory := ed25519Key(t)
		before := cc.Stats().Dropped
		good, _, err := a.sign.seal(kindOpening, openingBody{Door: "ssh", Addr: knocker, Until: time.Now().Add(time.Hour).UnixNano()})
		if err != nil {
			t.Fatal(err)
		}
		forged := append([]byte(nil), good...)
		forged[len(forged)-3] ^= 1 // alter the body after signing
		untrusted, _, _ := newSigner(mallory, time.Now).seal(kindOpening, openingBody{Door: "ssh", Addr: knocker, Until: time.Now().Add(time.Hour).UnixNano()})
		stale, _, _ := newSigner(a.sign.key, func() time.Time { return time.Now().Add(-time.Hour) }).seal(kindOpening, openingBody{Door: "ssh", Addr: knocker, Until: time.Now().Add(time.Hour).UnixNano()})
		subj := a.subject("open", string(a.ID()))
		for _, m := range [][]byte{forged, untrusted, stale, []byte("garbage"), make([]byte, MaxMessage+1), good, good} {
			// The second copy of good is a replay of a message already
			// delivered once (the first copy, published here).
			if _, err := js.Publish(ctx, subj, m); err != nil {
				t.Fatal(err)
			}
		}
		o := recv(t, cc)
		if o.Door != "ssh" {
			t.Fatalf("got %+v", o)
		}
		if err := a.PublishOpening(ctx, "marker-attack", knocker, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		noneBefore(t, cc, "marker-attack")
		after := cc.Stats().Dropped
		for _, why := range []string{"signature", "untrusted", "stale", "malformed", "oversized", "replayed"} {
			if after[why] <= before[why] {
				t.Errorf("dropped[%s] = %d, was %d: the attack was not counted", why, after[why], before[why])
			}
		}
	})

	t.Run("user keys", func(t *testing.T) {
		if err := a.AddUserKey(ctx, "alice", []byte("alice's secret")); err != nil {
			t.Fatal(err)
		}
		waitUser(t, cc, "alice", true)
		if err := b.RevokeUserKey(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		waitUser(t, cc, "alice", false)
		t.Logf("revocation at B seen at C after %v", time.Since(start))
		waitUser(t, a, "alice", false)

		// Putting back the old signed "add" over the revocation does not
		// restore the key: it is older than the revocation.
		_, js := c.plainJS(t, 0)
		kv, err := js.KeyValue(ctx, a.bucket("users"))
		if err != nil {
			t.Fatal(err)
		}
		hist, err := kv.History(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		before := cc.Stats().Dropped["stale"]
		if _, err := kv.Put(ctx, "alice", hist[0].Value()); err != nil {
			t.Fatal(err)
		}
		waitDropped(t, cc, "stale", before)
		if _, ok := cc.UserKeys()["alice"]; ok {
			t.Fatal("a replayed old record restored a revoked key")
		}
	})

	t.Run("orchestra", func(t *testing.T) {
		voices := map[string]NodeID{"soprano": a.ID(), "alto": b.ID(), "bass": cc.ID()}
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		cue, acks, err := a.Conduct(cctx, "quartet", voices, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(acks) != 3 {
			t.Fatalf("acks from %v, want all three", acks)
		}
		for i, nd := range c.nodes {
			got := <-nd.Cues()
			if got.ID != cue.ID || !got.Start.Equal(cue.Start) || got.Voice == "" || voices[got.Voice] != nd.ID() {
				t.Errorf("node %d: cue %+v, conducted %+v", i, got, cue)
			}
			// Same machine clock: the local instant is the shared one,
			// within the measurement's own error bound.
			if d := got.LocalStart.Sub(cue.Start).Abs(); d > got.RTT/2 {
				t.Errorf("node %d: local start %v from the shared instant, more than RTT/2 = %v", i, d, got.RTT/2)
			}
		}
	})

	t.Run("faults", func(t *testing.T) { testFaults(t, c) })
}

func TestOrchestraSkewedClock(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server")
	}
	f := newTestFleet(t, 2)
	var nodes []*Node
	const skew = 750 * time.Millisecond
	for i := range 2 {
		cfg := f.serving(t, i)
		if i > 0 {
			cfg.Serve, cfg.ServerProgram = "", ""
			cfg.NATS = []string{nodes[0].ClientURL()}
		}
		o := f.opts(t, i)
		if i == 1 {
			o.Clock = skewed{clock.System(), skew}
		}
		nd := openNode(t, cfg, o)
		nodes = append(nodes, nd)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A cue goes once, to the nodes connected at that moment: Ready
	// means connected (and subscribed).
	for _, nd := range nodes {
		if err := nd.Ready(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cue, _, err := nodes[0].Conduct(ctx, "duet", map[string]NodeID{"1": nodes[0].ID(), "2": nodes[1].ID()}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got := <-nodes[1].Cues()
	// The skewed node starts when its own clock reads LocalStart; on the
	// shared wall clock that is LocalStart - skew, which must be the
	// conductor's instant within the measurement's error bound.
	wall := got.LocalStart.Add(-skew)
	if d := wall.Sub(cue.Start).Abs(); d > got.RTT/2 {
		t.Errorf("skewed node starts %v from the shared instant (RTT %v)", d, got.RTT)
	}
	if !got.LocalStart.After(cue.Start.Add(skew / 2)) {
		t.Errorf("local start %v did not move with the skew", got.LocalStart.Sub(cue.Start))
	}
}

type skewed struct {
	clock.Clock
	by time.Duration
}

func (s skewed) Now() time.Time { return s.Clock.Now().Add(s.by) }

func waitUser(t testing.TB, nd *Node, user string, present bool) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		if _, ok := nd.UserKeys()[user]; ok == present {
			return
		}
		select {
		case <-nd.UserKeysChanged():
		case <-timeout:
			t.Fatalf("user %q present=%v never seen", user, present)
		}
	}
}

func waitDropped(t testing.TB, nd *Node, why string, before uint64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for nd.Stats().Dropped[why] <= before {
		if time.Now().After(deadline) {
			t.Fatalf("nothing dropped as %s", why)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ed25519Key(t testing.TB) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mallory.key")
	if _, err := GenerateKeyFile(path, nil); err != nil {
		t.Fatal(err)
	}
	k, err := ReadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// freeAddr returns a loopback address with a port free now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
