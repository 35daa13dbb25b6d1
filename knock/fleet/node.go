package fleet

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/knockbeep/knockbeep/clock"
	"github.com/knockbeep/knockbeep/knock/fleet/fleetconfig"
)

// Options are what the daemon gives a node besides its config.
type Options struct {
	// StateDir holds the embedded server's JetStream store (StateDir/nats)
	// and the audit spool (StateDir/audit). Required.
	StateDir string
	// Logger receives what the node does and drops; nil discards.
	Logger *slog.Logger
	// Clock is the node's time; nil is the system clock. The orchestra
	// measures the conductor's clock against it, so a node whose clock is
	// off still starts on the shared instant.
	Clock clock.Clock
	// Window is how old (or how far in the future) a live message may be
	// and still be accepted; 0 means 2 minutes. Openings or cues older
	// than this are dropped as replays.
	Window time.Duration
	// OpTimeout bounds each fleet operation on the knock path (Claim,
	// PublishOpening) before the node treats the cluster as unreachable;
	// 0 means 1 s.
	OpTimeout time.Duration
	// AuditSpoolMax bounds the audit records kept on disk while the
	// cluster is unreachable; 0 means 100000.
	AuditSpoolMax int
	// VerifyOnly opens a node that only reads the fleet, for Verify
	// (knockbeepd --audit-verify), beside this host's running daemon and
	// with the daemon's config: it starts no embedded server (it connects
	// as a client to the serve address instead), creates nothing, consumes
	// no openings, answers no requests, and reads the daemon's audit
	// chain in StateDir/audit without changing it. It may add and revoke
	// user keys (knockbeepd --user-add, --user-revoke), signed with the
	// node's key.
	VerifyOnly bool
}

// ErrDegraded marks an operation the fleet could not do because the
// cluster is unreachable: the node carries on alone and says so.
var ErrDegraded = errors.New("fleet: cluster unreachable, working alone")

// A Node is this host's place in the fleet: a connection to NATS (and,
// with serve, the embedded server it connects to), its key and trust
// list, and the fleet's streams and buckets once the cluster answers.
type Node struct {
	cfg    Config
	log    *slog.Logger
	clk    clock.Clock
	opTime time.Duration
	sign   *signer
	trust  *Trust
	ver    *verifier
	drops  [dropCount]atomic.Uint64

	srv *natsServer // nil with an external cluster
	nc  *nats.Conn
	js  jetstream.JetStream

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	verifyOnly bool

	closing  atomic.Bool
	ready    chan struct{} // closed when the fleet is set up and the user keys caught up
	setupErr atomic.Pointer[error]

	mu       sync.Mutex
	replayKV jetstream.KeyValue // nil until set up
	openS    jetstream.Stream
	auditS   jetstream.Stream

	openings chan Opening
	users    *userView
	audit    *auditLog
	cues     chan Cue
}

const (
	subjectRoot = "knockbeep"
	defaultWin  = 2 * time.Minute
	// openingDedup is the openings stream's duplicate window: a retry of
	// an opening inside it is stored once however often it is sent.
	openingDedup = time.Minute
)

// ReadIdentity reads the node key and the trust list cfg names, and checks
// that the key is on the list: what a node needs before anything else.
// Its error names every problem found (errors.Join), each with the key of
// the [cluster] table it is about, so that --check can say them all.
func ReadIdentity(cfg Config) (ed25519.PrivateKey, *Trust, error) {
	var errs []error
	key, err := ReadKeyFile(cfg.NodeKey)
	if err != nil {
		errs = append(errs, fmt.Errorf("node_key: %w (make one with knockbeepd --genkey --ed25519 %s)", err, cfg.NodeKey))
	}
	trust, err := ReadTrust(cfg.Trust)
	if err != nil {
		errs = append(errs, fmt.Errorf("trust: %w", err))
	}
	if key != nil && trust != nil {
		pub := key.Public().(ed25519.PublicKey)
		if _, ok := trust.Trusted(ID(pub)); !ok {
			errs = append(errs, fmt.Errorf("this node's key is not on the trust list %s: add the line %q to it on every node", cfg.Trust, PublicLine(pub)))
		}
	}
	return key, trust, errors.Join(errs...)
}

// Open starts this node: it reads the key and trust list, starts the
// embedded server when the config says serve, connects, and sets up the
// fleet's streams and buckets in the background — retrying until the
// cluster answers, so that a node whose peers are down still starts and
// works alone. Close stops it.
func Open(ctx context.Context, cfg Config, opts Options) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.StateDir == "" {
		return nil, errors.New("fleet: a state directory is required")
	}
	key, trust, err := ReadIdentity(cfg)
	if err != nil {
		return nil, err
	}
	n := &Node{
		cfg:      cfg,
		log:      opts.Logger,
		clk:      opts.Clock,
		opTime:   opts.OpTimeout,
		trust:    trust,
		ready:    make(chan struct{}),
		openings: make(chan Opening, 64),
		cues:     make(chan Cue, 8),
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	n.log = n.log.With("fleet", cfg.Name)
	if n.clk == nil {
		n.clk = clock.System()
	}
	if n.opTime == 0 {
		n.opTime = time.Second
	}
	win := opts.Window
	if win == 0 {
		win = defaultWin
	}
	n.sign = newSigner(key, n.clk.Now)
	n.ver = newVerifier(trust, n.clk.Now, win, &n.drops)
	n.users = newUserView()
	spoolMax := opts.AuditSpoolMax
	if spoolMax == 0 {
		spoolMax = 100000
	}
	if opts.VerifyOnly {
		return n.openVerifier(ctx, filepath.Join(opts.StateDir, "audit"), spoolMax)
	}
	if n.audit, err = openAuditLog(filepath.Join(opts.StateDir, "audit"), spoolMax, n.sign, n.log); err != nil {
		return nil, err
	}

	if cfg.Serve != "" {
		program, err := FindServerProgram(cfg.ServerProgram)
		if err == nil {
			n.srv, err = startServer(program, cfg, n.sign.id, filepath.Join(opts.StateDir, "nats"), n.log)
		}
		if err != nil {
			n.audit.close()
			return nil, err
		}
	}
	if n.nc, err = n.connect(); err != nil {
		n.shutdownServer()
		n.audit.close()
		return nil, err
	}
	if n.js, err = jetstream.New(n.nc); err != nil {
		n.nc.Close()
		n.shutdownServer()
		n.audit.close()
		return nil, fmt.Errorf("fleet: %w", err)
	}
	n.ctx, n.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := n.serveTime(); err != nil {
		n.Close()
		return nil, err
	}
	if err := n.listenCues(); err != nil {
		n.Close()
		return nil, err
	}
	n.wg.Add(1)
	go n.setupLoop()
	n.log.Info("fleet node started", "node", n.sign.id, "embedded", n.srv != nil)
	return n, nil
}

// openVerifier finishes Open for a VerifyOnly node.
func (n *Node) openVerifier(ctx context.Context, auditDir string, spoolMax int) (*Node, error) {
	n.verifyOnly = true
	var err error
	if n.audit, _, err = readAuditLog(auditDir, spoolMax, n.sign, n.log); err != nil {
		return nil, err
	}
	if n.cfg.Serve != "" {
		host, port, _ := fleetconfig.SplitHostPort(n.cfg.Serve)
		n.cfg.NATS = []string{"nats://" + net.JoinHostPort(fleetconfig.ClientHost(host), strconv.Itoa(port))}
		n.cfg.Serve, n.cfg.Routes, n.cfg.ClusterListen = "", nil, ""
	}
	if n.nc, err = n.connect(); err != nil {
		return nil, err
	}
	if n.js, err = jetstream.New(n.nc); err != nil {
		n.nc.Close()
		return nil, fmt.Errorf("fleet: %w", err)
	}
	n.ctx, n.cancel = context.WithCancel(context.WithoutCancel(ctx))
	return n, nil
}

// ID returns this node's ID (its public key).
func (n *Node) ID() NodeID { return n.sign.id }

// Nodes returns the nodes of the fleet: those on the trust list, this one
// among them, sorted.
func (n *Node) Nodes() []NodeID { return n.trust.IDs() }

// ClientURL returns the embedded server's client URL, or "" with an
// external cluster; ClusterURL its route URL. Both name the ports chosen
// when the config asked for port -1.
func (n *Node) ClientURL() string {
	if n.srv == nil {
		return ""
	}
	return n.srv.client
}

// ClusterURL returns the embedded server's route URL, or "".
func (n *Node) ClusterURL() string {
	if n.srv == nil {
		return ""
	}
	return n.srv.route
}

// Ready waits until the fleet's streams and buckets are set up and the
// user keys in the bucket have all been read, so that a restarting node
// knows every revocation before it opens a rotating door.
func (n *Node) Ready(ctx context.Context) error {
	select {
	case <-n.ready:
		return nil
	case <-ctx.Done():
		if p := n.setupErr.Load(); p != nil {
			return fmt.Errorf("fleet: not ready: %w (last setup error: %v)", ctx.Err(), *p)
		}
		return fmt.Errorf("fleet: not ready: %w", ctx.Err())
	}
}

// Stats returns the counts of dropped messages by reason, and of the
// embedded server's restarts.
func (n *Node) Stats() Stats {
	s := Stats{Dropped: map[string]uint64{}}
	for i := range n.drops {
		s.Dropped[dropNames[i]] = n.drops[i].Load()
	}
	if n.srv != nil {
		s.ServerRestarts = n.srv.restarts.Load()
	}
	return s
}

// Close stops the node: consumers, the audit sender, the connection and
// the embedded server. Audit records not yet sent stay on disk.
func (n *Node) Close() error {
	n.closing.Store(true)
	n.cancel()
	n.nc.Drain()
	n.wg.Wait()
	n.nc.Close()
	n.shutdownServer()
	return n.audit.close()
}

func (n *Node) shutdownServer() {
	if n.srv != nil {
		n.srv.close()
	}
}

func (n *Node) connect() (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name("knockbeepd " + string(n.sign.id)),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if n.closing.Load() {
				return
			}
			n.log.Warn("fleet: disconnected from NATS, working alone until it is back", "err", err)
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			n.log.Info("fleet: reconnected to NATS", "server", c.ConnectedUrlRedacted())
		}),
	}
	url := strings.Join(n.cfg.NATS, ",")
	if n.srv != nil {
		url = n.srv.client
	}
	if n.cfg.Credentials != "" {
		opts = append(opts, nats.UserCredentials(n.cfg.Credentials))
	}
	if n.cfg.TLSCA != "" {
		opts = append(opts, nats.RootCAs(n.cfg.TLSCA))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("fleet: connecting to NATS: %w", err)
	}
	return nc, nil
}

// Names of the fleet's streams, buckets and subjects.
func (n *Node) bucket(what string) string { return "knockbeep_" + n.cfg.Name + "_" + what }
func (n *Node) subject(parts ...string) string {
	return subjectRoot + "." + n.cfg.Name + "." + strings.Join(parts, ".")
}

// setupLoop creates (or finds) the streams and buckets, then starts the
// consumers that need them, retrying once a second while the cluster has
// no quorum or is unreachable.
func (n *Node) setupLoop() {
	defer n.wg.Done()
	for {
		err := n.setup()
		if err == nil {
			return
		}
		n.setupErr.Store(&err)
		n.log.Debug("fleet: setting up streams, will retry", "err", err)
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (n *Node) setup() error {
	ctx, cancel := context.WithTimeout(n.ctx, 5*time.Second)
	defer cancel()
	r := n.cfg.ReplicaCount()
	replay, err := n.keyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      n.bucket("replay"),
		Description: "knockbeep: sequences used anywhere in the fleet",
		// Markers let a key's own TTL expire it; how long the marker
		// stays does not matter to Claim.
		LimitMarkerTTL: time.Second,
		Replicas:       r,
	})
	if err != nil {
		return err
	}
	users, err := n.keyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      n.bucket("users"),
		Description: "knockbeep: per-user keys, signed",
		History:     16,
		Replicas:    r,
	})
	if err != nil {
		return err
	}
	openS, err := n.stream(ctx, jetstream.StreamConfig{
		Name:       n.bucket("open"),
		Subjects:   []string{n.subject("open", "*")},
		MaxAge:     time.Hour,
		Duplicates: openingDedup,
		Replicas:   r,
	})
	if err != nil {
		return err
	}
	auditS, err := n.stream(ctx, jetstream.StreamConfig{
		Name:     n.bucket("audit"),
		Subjects: []string{n.subject("audit", "*")},
		// The dedup window covers a node that sent a record, crashed
		// before it noted that, and sends it again on restart; the
		// sender also skips what the stream already has.
		Duplicates: 10 * time.Minute,
		Replicas:   r,
	})
	if err != nil {
		return err
	}
	cons, err := openS.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       "open_" + string(n.sign.id),
		DeliverPolicy: jetstream.DeliverNewPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       10 * time.Second,
		Replicas:      r,
	})
	if err != nil {
		return fmt.Errorf("fleet: openings consumer: %w", err)
	}
	n.mu.Lock()
	n.replayKV, n.openS, n.auditS = replay, openS, auditS
	n.mu.Unlock()

	// A pull sent while the consumer has no leader yet is lost, and the
	// client only notices when heartbeats go missing: wait for a leader,
	// and keep heartbeats short so a lost pull costs seconds, not 30.
	for {
		info, err := cons.Info(ctx)
		if err != nil {
			return fmt.Errorf("fleet: openings consumer: %w", err)
		}
		if info.Cluster == nil || info.Cluster.Leader != "" {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("fleet: openings consumer: no leader: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	cc, err := cons.Consume(n.handleOpening, jetstream.PullExpiry(5*time.Second), jetstream.PullHeartbeat(time.Second))
	if err != nil {
		return fmt.Errorf("fleet: consuming openings: %w", err)
	}
	n.wg.Add(3)
	go func() {
		defer n.wg.Done()
		<-n.ctx.Done()
		cc.Stop()
	}()
	go n.watchUsers(users)
	go n.sendAudit()
	return nil
}

func (n *Node) keyValue(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := n.js.CreateKeyValue(ctx, cfg)
	if errors.Is(err, jetstream.ErrBucketExists) {
		// The first node to create a bucket decides its settings; the
		// others use it as it is rather than fight over replicas.
		kv, err = n.js.KeyValue(ctx, cfg.Bucket)
	}
	if err != nil {
		return nil, fmt.Errorf("fleet: bucket %s: %w", cfg.Bucket, err)
	}
	return kv, nil
}

func (n *Node) stream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	s, err := n.js.CreateStream(ctx, cfg)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		s, err = n.js.Stream(ctx, cfg.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("fleet: stream %s: %w", cfg.Name, err)
	}
	return s, nil
}

// degraded wraps err as ErrDegraded and logs it, at debug level: the
// caller says once that it works alone (the daemon does), rather than a
// line per knock while the cluster is away.
func (n *Node) degraded(op string, err error) error {
	n.log.Debug("fleet: "+op+": cluster unreachable, deciding locally", "err", err)
	if err == nil {
		return fmt.Errorf("%w (%s: not set up yet)", ErrDegraded, op)
	}
	return fmt.Errorf("%w (%s: %v)", ErrDegraded, op, err)
}
