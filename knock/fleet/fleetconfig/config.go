package fleetconfig

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Config mirrors the [cluster] table of knockbeepd's config, key for key
// (the TOML names are in the tags). The zero Config means no fleet.
type Config struct {
	// Name is the fleet's name: subjects, streams and buckets live under it.
	Name string `toml:"name"`
	// NodeKey is the path of this node's Ed25519 key file.
	NodeKey string `toml:"node_key"`
	// Trust is the path of the trust list: the public keys of the fleet.
	Trust string `toml:"trust"`
	// NATS lists the URLs of an existing NATS cluster. Exclusive with Serve.
	NATS []string `toml:"nats"`
	// Credentials is a NATS credentials file (user JWT and nkey seed) for
	// an external cluster.
	Credentials string `toml:"credentials"`
	// TLSCA is a PEM file of the CAs that sign an external cluster's
	// server certificates; setting it requires TLS.
	TLSCA string `toml:"tls_ca"`
	// Serve is the host:port on which an embedded NATS server with
	// JetStream takes clients. Exclusive with NATS.
	Serve string `toml:"serve"`
	// Routes are the other embedded servers' cluster URLs
	// (nats-route://host:6222).
	Routes []string `toml:"routes"`
	// ClusterListen is where the embedded server takes routes; empty
	// means port 6222 on Serve's host.
	ClusterListen string `toml:"cluster_listen"`
	// ServerProgram is the program that runs the embedded server
	// (knockbeep-nats); empty means the one installed beside knockbeepd.
	ServerProgram string `toml:"server_program"`
	// Replicas is how many copies of each stream and bucket the cluster
	// keeps; 0 means one per embedded server up to 3 (routes+1), or 1 on
	// an external cluster.
	Replicas int `toml:"replicas"`
}

// DefaultClusterPort is where an embedded server takes routes unless
// cluster_listen says otherwise.
const DefaultClusterPort = 6222

// validName reports whether s may name a fleet: 1 to 32 of A-Z a-z 0-9
// - _, which NATS takes in subjects and bucket names alike. (By hand, not
// with regexp or net/url below: the knock client links this package.)
func validName(s string) bool {
	if len(s) < 1 || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Enabled reports whether the config asks for a fleet at all: with no
// [cluster] table nothing starts.
func (c Config) Enabled() bool {
	return c.Name != "" || c.NodeKey != "" || c.Trust != "" || len(c.NATS) > 0 || c.Serve != "" ||
		len(c.Routes) > 0 || c.ClusterListen != "" || c.Credentials != "" || c.TLSCA != "" || c.ServerProgram != "" || c.Replicas != 0
}

// A Problem is one mistake in a Config: the key it is about ("" when it
// is about the table as a whole) and what is wrong and what to do.
type Problem struct {
	Key string
	Msg string
}

// Validate checks the config without touching the network or the disk, so
// that knockbeepd --check can report every mistake before anything runs.
func (c Config) Validate() error {
	var errs []error
	for _, p := range c.Problems() {
		errs = append(errs, errors.New("cluster: "+p.Msg))
	}
	return errors.Join(errs...)
}

// Problems lists every mistake of the config, in the order of its keys.
func (c Config) Problems() []Problem {
	var ps []Problem
	bad := func(key, format string, a ...any) { ps = append(ps, Problem{Key: key, Msg: fmt.Sprintf(format, a...)}) }
	if !validName(c.Name) {
		bad("name", "name %q: want 1 to 32 letters, digits, '-' or '_' (it names NATS subjects and buckets)", c.Name)
	}
	if c.NodeKey == "" {
		bad("", "node_key is required: the path of this node's key (make one with knockbeepd --genkey --ed25519)")
	}
	if c.Trust == "" {
		bad("", "trust is required: the path of the file of the fleet's public keys")
	}
	switch {
	case len(c.NATS) > 0 && c.Serve != "":
		bad("serve", "nats and serve are exclusive: point at an existing NATS cluster or run an embedded server, not both")
	case len(c.NATS) == 0 && c.Serve == "":
		bad("", "set nats (an existing NATS cluster) or serve (an embedded server's client address)")
	}
	for _, u := range c.NATS {
		if err := checkURL(u, "nats", "tls"); err != nil {
			bad("nats", "nats: %v", err)
		}
	}
	if c.Serve != "" {
		if _, _, err := SplitHostPort(c.Serve); err != nil {
			bad("serve", "serve %q: %v", c.Serve, err)
		}
	} else {
		if len(c.Routes) > 0 {
			bad("routes", "routes need serve: they join embedded servers")
		}
		if c.ClusterListen != "" {
			bad("cluster_listen", "cluster_listen needs serve: it is the embedded server's route address")
		}
		if c.ServerProgram != "" {
			bad("server_program", "server_program needs serve: it runs the embedded server")
		}
	}
	if c.ServerProgram != "" && !filepath.IsAbs(c.ServerProgram) {
		bad("server_program", "server_program %q: want an absolute path (the daemon runs it from wherever it was started)", c.ServerProgram)
	}
	if c.Serve != "" && (c.Credentials != "" || c.TLSCA != "") {
		key := "credentials"
		if c.Credentials == "" {
			key = "tls_ca"
		}
		bad(key, "credentials and tls_ca are for an external cluster (nats), not an embedded one (serve)")
	}
	for _, u := range c.Routes {
		if err := checkURL(u, "nats-route", "nats"); err != nil {
			bad("routes", "routes: %v", err)
		}
	}
	if c.Serve != "" && c.ClusterListen != "" && len(c.Routes) == 0 {
		bad("cluster_listen", "cluster_listen without routes: an embedded server with no routes runs alone and takes no routes; list the other nodes in routes")
	}
	if c.ClusterListen != "" {
		if _, _, err := SplitHostPort(c.ClusterListen); err != nil {
			bad("cluster_listen", "cluster_listen %q: %v", c.ClusterListen, err)
		}
	}
	if c.Replicas < 0 || c.Replicas > 5 {
		bad("replicas", "replicas %d: want 0 (automatic) to 5", c.Replicas)
	}
	return ps
}

// ClusterListenAddr returns the embedded server's route address.
func (c Config) ClusterListenAddr() (string, int, error) {
	if c.ClusterListen != "" {
		return SplitHostPort(c.ClusterListen)
	}
	host, _, err := SplitHostPort(c.Serve)
	return host, DefaultClusterPort, err
}

// ReplicaCount is how many copies of each stream and bucket a node asks
// for when it is the first to create them.
func (c Config) ReplicaCount() int {
	switch {
	case c.Replicas > 0:
		return c.Replicas
	case c.Serve != "":
		return min(3, len(c.Routes)+1)
	}
	return 1
}

// SplitHostPort splits a serve or cluster_listen address. Port -1 asks
// for a port chosen at run time (tests use it).
func SplitHostPort(hp string) (string, int, error) {
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, fmt.Errorf("want host:port: %w", err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < -1 || port > 65535 {
		return "", 0, fmt.Errorf("port %q is not a number from 0 to 65535", p)
	}
	return host, port, nil
}

// ClientHost is the host a client on this host connects to for a server
// listening on host: loopback when it listens on every address (of its
// family: ::1 for "::").
func ClientHost(host string) string {
	switch ip := net.ParseIP(host); {
	case host == "" || ip != nil && ip.IsUnspecified() && ip.To4() != nil:
		return "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		return "::1"
	}
	return host
}

func checkURL(s string, schemes ...string) error {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || !slices.Contains(schemes, scheme) {
		return fmt.Errorf("%q: want a %s:// URL", s, schemes[0])
	}
	host, _, _ := strings.Cut(rest, "/")
	if _, h, ok := strings.Cut(host, "@"); ok {
		host = h
	}
	if host == "" || strings.ContainsAny(host, " \t") {
		return fmt.Errorf("%q has no host", s)
	}
	return nil
}
