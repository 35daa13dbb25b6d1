package natsnode

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/knockbeep/knockbeep/internal/buildinfo"
	"github.com/knockbeep/knockbeep/knock/fleet/fleetconfig"
)

// Options are a node's server settings, as knockbeepd derives them from
// its [cluster] table.
type Options struct {
	// ServerName names the server in the cluster (knockbeep-NODEID).
	ServerName string
	// Listen is the client address, host:port; port -1 picks one.
	Listen string
	// ClusterName, ClusterListen and Routes join the other nodes'
	// servers; with no routes the server runs alone and takes none.
	ClusterName   string
	ClusterListen string
	Routes        []string
	// StoreDir is JetStream's store.
	StoreDir string
}

// listenTimeout bounds how long the server may take to listen once Start
// has read JetStream's store (which takes what it takes: the parent
// waits for the "ready" line as long as the program runs).
const listenTimeout = 30 * time.Second

// Start starts the server o describes and waits until it takes
// connections. The server reports to log; nats-server calls its Fatalf
// for what it cannot carry on from (a port in use, a store it cannot
// read).
func Start(o Options, log server.Logger) (*server.Server, error) {
	host, port, err := splitHostPort("--listen", o.Listen)
	if err != nil {
		return nil, err
	}
	so := &server.Options{
		ServerName: o.ServerName,
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   o.StoreDir,
		NoSigs:     true,
		NoLog:      true,
	}
	// A node without routes runs alone and takes no routes: JetStream in
	// a cluster of one with no peers to reach refuses to start.
	if len(o.Routes) > 0 {
		chost, cport, err := splitHostPort("--cluster-listen", o.ClusterListen)
		if err != nil {
			return nil, err
		}
		so.Cluster = server.ClusterOpts{Name: o.ClusterName, Host: chost, Port: cport}
		for _, r := range o.Routes {
			u, err := url.Parse(r)
			if err != nil {
				return nil, fmt.Errorf("--route %q: %w", r, err)
			}
			so.Routes = append(so.Routes, u)
		}
	}
	s, err := server.NewServer(so)
	if err != nil {
		return nil, err
	}
	s.SetLoggerV2(log, false, false, false)
	s.Start()
	if !s.ReadyForConnections(listenTimeout) {
		s.Shutdown()
		return nil, fmt.Errorf("not listening on %s after %v", o.Listen, listenTimeout)
	}
	return s, nil
}

// stderrLogger writes the server's warnings and errors to the program's
// standard error, which knockbeepd logs, and drops its notices (a dozen
// lines each start). A fatal error ends the program with status 1: the
// server stops serving after one, and without a logger it would say
// nothing and wait out listenTimeout.
type stderrLogger struct {
	mu   sync.Mutex
	w    io.Writer
	exit func(int)
}

func (l *stderrLogger) print(level, format string, v []any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "knockbeep-nats: %s"+format+"\n", append([]any{level}, v...)...)
}

func (l *stderrLogger) Noticef(string, ...any)        {}
func (l *stderrLogger) Debugf(string, ...any)         {}
func (l *stderrLogger) Tracef(string, ...any)         {}
func (l *stderrLogger) Warnf(format string, v ...any) { l.print("warning: ", format, v) }
func (l *stderrLogger) Errorf(format string, v ...any) {
	l.print("error: ", format, v)
}
func (l *stderrLogger) Fatalf(format string, v ...any) {
	l.print("", format, v)
	l.exit(1)
}

// ReadyLine is what the program prints once s, started on the client
// address listen, takes connections: the URL a client on this host
// reaches it at (loopback when it listens on every address), then its
// route URL when it is in a cluster.
func ReadyLine(s *server.Server, listen string) string {
	// The configured host, not the listener's: Go listens on [::] for
	// 0.0.0.0, and ::1 is missing where IPv6 is turned off.
	host, _, _ := net.SplitHostPort(listen)
	host = fleetconfig.ClientHost(host)
	port := s.Addr().(*net.TCPAddr).Port
	line := "ready nats://" + net.JoinHostPort(host, strconv.Itoa(port))
	if a := s.ClusterAddr(); a != nil {
		line += " nats-route://" + a.String()
	}
	return line
}

// splitHostPort is fleetconfig.SplitHostPort, its error naming flag.
func splitHostPort(flag, hp string) (string, int, error) {
	host, port, err := fleetconfig.SplitHostPort(hp)
	if err != nil {
		return "", 0, fmt.Errorf("%s %q: %w", flag, hp, err)
	}
	return host, port, nil
}

// Main is the knockbeep-nats program: it prints "starting", takes the
// store's lock, runs the server and prints the ready line, until stdin
// ends or ctx is done. It returns the exit status: 0 after a shutdown, 1
// when the server could not start (a flag's value included), 2 for a bad
// command line. A fatal error of the running server calls exit(1).
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, exit func(int)) int {
	fs := flag.NewFlagSet("knockbeep-nats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: knockbeep-nats --server-name NAME --listen HOST:PORT --store DIR [--cluster-name NAME --cluster-listen HOST:PORT --route URL...]")
		fmt.Fprintln(stderr, "The fleet's NATS server, which knockbeepd starts when its [cluster] table says serve; it stops when its standard input ends.")
		fs.PrintDefaults()
	}
	var o Options
	var version bool
	fs.StringVar(&o.ServerName, "server-name", "", "the server's `name` in the cluster")
	fs.StringVar(&o.Listen, "listen", "", "the client address, host:port")
	fs.StringVar(&o.StoreDir, "store", "", "JetStream's store `directory`")
	fs.StringVar(&o.ClusterName, "cluster-name", "", "the cluster's `name`")
	fs.StringVar(&o.ClusterListen, "cluster-listen", "", "the route address, host:port")
	fs.Func("route", "another node's route `URL` (nats-route://host:6222); repeat for each", func(s string) error {
		o.Routes = append(o.Routes, s)
		return nil
	})
	fs.BoolVar(&version, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if version {
		fmt.Fprintf(stdout, "knockbeep-nats (knockbeep) %s\n", buildinfo.Version())
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "knockbeep-nats: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if o.Listen == "" {
		fmt.Fprintln(stderr, "knockbeep-nats: --listen is required")
		return 2
	}
	// Before anything slow: the parent knows the program runs, and
	// waits for the ready line as long as it takes.
	fmt.Fprintln(stdout, "starting")
	if o.StoreDir == "" {
		fmt.Fprintln(stderr, "knockbeep-nats: --store is required: the directory of JetStream's store")
		return 1
	}
	unlock, err := lockStore(o.StoreDir)
	if err != nil {
		fmt.Fprintf(stderr, "knockbeep-nats: %v\n", err)
		return 1
	}
	defer unlock()
	s, err := Start(o, &stderrLogger{w: stderr, exit: exit})
	if err != nil {
		fmt.Fprintf(stderr, "knockbeep-nats: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, ReadyLine(s, o.Listen))
	ended := make(chan struct{})
	go func() {
		// The daemon never writes: its end of the pipe closes when it
		// stops the server or dies, whichever way it dies.
		io.Copy(io.Discard, stdin)
		close(ended)
	}()
	select {
	case <-ended:
	case <-ctx.Done():
	}
	s.Shutdown()
	s.WaitForShutdown()
	return 0
}
