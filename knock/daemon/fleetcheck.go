package daemon

import (
	"crypto/ed25519"
	"fmt"
	"strings"

	"github.com/knockbeep/knockbeep/knock/fleet"
	"github.com/knockbeep/knockbeep/knock/fleet/fleetconfig"
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

// checkCluster reads the node key and the trust list the way the daemon
// will at start, and says what would stop the fleet node from opening.
func checkCluster(c fleetconfig.Config) []string {
	if !c.Enabled() {
		return nil
	}
	var out []string
	key, err := fleet.ReadKeyFile(c.NodeKey)
	if err != nil {
		out = append(out, fmt.Sprintf("[cluster] node_key: %v (make one with knockbeepd --genkey --ed25519 %s)", err, c.NodeKey))
	}
	trust, err := fleet.ReadTrust(c.Trust)
	if err != nil {
		out = append(out, fmt.Sprintf("[cluster] trust: %v", err))
	}
	if key != nil && trust != nil {
		pub := key.Public().(ed25519.PublicKey)
		if _, ok := trust.Trusted(fleet.ID(pub)); !ok {
			out = append(out, fmt.Sprintf("[cluster] this node's key is not on the trust list %s: add the line %q to it on every node", c.Trust, fleet.PublicLine(pub)))
		}
	}
	return out
}
