package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/knockbeep/knockbeep/internal/errtext"
	"github.com/knockbeep/knockbeep/knock/config"
	"github.com/knockbeep/knockbeep/knock/fleet"
	"github.com/knockbeep/knockbeep/knock/fleet/fleetconfig"
	"github.com/knockbeep/knockbeep/knock/portlang"
)

// describeCluster is --check's line about the [cluster] table; "" without
// one.
func describeCluster(c fleetconfig.Config) string {
	if !c.Enabled() {
		return ""
	}
	if c.Serve != "" {
		routes := "no routes: a fleet of one"
		if len(c.Routes) > 0 {
			routes = "routes " + strings.Join(c.Routes, ", ")
		}
		return fmt.Sprintf("fleet %q: an embedded NATS server on %s, %s", c.Name, c.Serve, routes)
	}
	return fmt.Sprintf("fleet %q: on the NATS cluster %s", c.Name, strings.Join(c.NATS, ", "))
}

// checkCluster reads the node key and the trust list, and looks for the
// embedded server's program, the way the daemon will at start, and says
// what would stop the fleet node from opening.
func checkCluster(c fleetconfig.Config) []string {
	if !c.Enabled() {
		return nil
	}
	var out []string
	if _, _, err := fleet.ReadIdentity(c); err != nil {
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			out = append(out, "[cluster] "+e.Error())
		}
	}
	if c.Serve != "" {
		if _, err := fleet.FindServerProgram(c.ServerProgram); err != nil {
			out = append(out, "[cluster] "+err.Error())
		}
	}
	return out
}

// genNodeKey is --genkey --ed25519 FILE: a new node key, and on stdout
// the line that puts it on the trust list (named after this host), so
// that "knockbeepd --genkey --ed25519 FILE >> fleet.pub" does both.
func genNodeKey(path string, stdout, stderr io.Writer) int {
	pub, err := fleet.GenerateKeyFile(path, nil)
	if err != nil {
		fmt.Fprintf(stderr, "knockbeepd: --genkey: %v\n", err)
		return ExitFailure
	}
	line := fleet.PublicLine(pub)
	if host, err := os.Hostname(); err == nil && host != "" && !strings.ContainsAny(host, " \t") {
		line += " " + host
	}
	fmt.Fprintf(stderr, "knockbeepd: a new node key is in %s (mode 0600; keep it secret); add this line to the trust list of every node of the fleet:\n", path)
	fmt.Fprintln(stdout, line)
	return ExitOK
}

// adminTimeout bounds a command-line operation on the fleet
// (--audit-verify's walk, a user key change), connecting included: a
// cluster that does not answer is reported, not waited for forever.
const adminTimeout = 2 * time.Minute

// auditVerify is --audit-verify: a verify-only fleet node walks the audit
// stream and prints what it found.
func auditVerify(ctx context.Context, cfg *config.Config, debug bool, stdout, stderr io.Writer) int {
	return onAdminNode(ctx, cfg, "--audit-verify", "there is no fleet and no audit chain", debug, stderr,
		func(ctx context.Context, n *fleet.Node) (int, error) {
			rep, err := n.Verify(ctx)
			if err != nil {
				return ExitFailure, err
			}
			fmt.Fprintln(stdout, rep.String())
			if !rep.OK() {
				return ExitBroken, nil
			}
			return ExitOK, nil
		})
}

// changeUser is --user-add NAME KEYFILE and --user-revoke NAME: a
// verify-only node signs the change with this node's key and puts it in
// the fleet's users bucket, which every node watches.
func changeUser(ctx context.Context, cfg *config.Config, c commandLine, stdout, stderr io.Writer) int {
	flag := "--user-add"
	if c.userRevoke != "" {
		flag = "--user-revoke"
	}
	var key []byte
	if c.userAdd != "" && cfg.Cluster.Enabled() {
		var err error
		if key, err = portlang.ReadKeyFile(c.userKey); err != nil {
			fmt.Fprintf(stderr, "knockbeepd: %s: %v\n", flag, err)
			return ExitFailure
		}
	}
	return onAdminNode(ctx, cfg, flag, "there is no fleet to keep users in", c.debug, stderr,
		func(ctx context.Context, n *fleet.Node) (int, error) {
			if c.userAdd != "" {
				if err := n.AddUserKey(ctx, c.userAdd, key); err != nil {
					return ExitFailure, err
				}
				fmt.Fprintf(stdout, "knockbeepd: user %s added to fleet %q: doors with fleet_users open for their key at every node\n", c.userAdd, cfg.Cluster.Name)
				return ExitOK, nil
			}
			if err := n.RevokeUserKey(ctx, c.userRevoke); err != nil {
				return ExitFailure, err
			}
			fmt.Fprintf(stdout, "knockbeepd: user %s revoked in fleet %q: doors with fleet_users no longer open for their key at any node\n", c.userRevoke, cfg.Cluster.Name)
			return ExitOK, nil
		})
}

// onAdminNode runs op, the command-line operation flag, on a verify-only
// fleet node beside the daemon (its config, key and state directory,
// never its replay claims or openings), within adminTimeout. Its
// log goes to stderr, errors only unless debug. Without a [cluster] table
// it refuses, saying why there is nothing to do.
func onAdminNode(ctx context.Context, cfg *config.Config, flag, noCluster string, debug bool, stderr io.Writer,
	op func(context.Context, *fleet.Node) (int, error)) int {
	if !cfg.Cluster.Enabled() {
		fmt.Fprintf(stderr, "knockbeepd: %s: the config has no [cluster] table: %s\n", flag, noCluster)
		return ExitConfig
	}
	level := slog.LevelError
	if debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	n, err := fleet.Open(ctx, cfg.Cluster, fleet.Options{StateDir: cfg.StateDir, Logger: log, VerifyOnly: true})
	if err != nil {
		fmt.Fprintln(stderr, errtext.Lines("knockbeepd: "+flag+": ", err))
		return ExitFailure
	}
	defer n.Close()
	status, err := op(ctx, n)
	if err != nil {
		fmt.Fprintln(stderr, errtext.Lines("knockbeepd: "+flag+": ", err))
	}
	return status
}
