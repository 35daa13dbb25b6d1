package fleet

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock/fleet/fleettest"
)

// startNATSServer builds the real nats-server binary of the version in
// go.mod and runs it with JetStream on a loopback port it picks itself;
// the port is read from the file it writes (--ports_file_dir).
func startNATSServer(t *testing.T) string {
	t.Helper()
	bin := fleettest.BuildNATSServer(t)
	dir := t.TempDir()
	portsDir := filepath.Join(dir, "ports")
	if err := os.Mkdir(portsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-js", "-a", "127.0.0.1", "-p", "-1", "-sd", filepath.Join(dir, "store"), "--ports_file_dir", portsDir)
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	portsFile := filepath.Join(portsDir, "nats-server_"+strconv.Itoa(cmd.Process.Pid)+".ports")
	deadline := time.Now().Add(20 * time.Second)
	for {
		data, err := os.ReadFile(portsFile)
		var ports struct {
			Nats []string `json:"nats"`
		}
		if err == nil && json.Unmarshal(data, &ports) == nil && len(ports.Nats) > 0 {
			return ports.Nats[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server wrote no ports file %s", portsFile)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestExternalServer runs two nodes against a separate nats-server
// process, as a fleet pointed at the NATS cluster it already runs.
func TestExternalServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs nats-server")
	}
	url := startNATSServer(t)
	f := newTestFleet(t, 2)
	var nodes []*Node
	for i := range 2 {
		cfg := f.config(i)
		cfg.NATS = []string{url}
		nd := openNode(t, cfg, f.opts(t, i))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := nd.Ready(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, nd)
	}
	a, b := nodes[0], nodes[1]
	ctx := context.Background()
	if first, err := a.Claim(ctx, "seq", time.Minute); !first || err != nil {
		t.Fatalf("claim at A = %v, %v", first, err)
	}
	if first, err := b.Claim(ctx, "seq", time.Minute); first || err != nil {
		t.Fatalf("claim at B = %v, %v; want false, nil", first, err)
	}
	if err := a.PublishOpening(ctx, "ssh", knocker, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if o := recv(t, b); o.Door != "ssh" || o.Node != a.ID() {
		t.Fatalf("B got %+v", o)
	}
	if err := b.AddUserKey(ctx, "carol", []byte("c")); err != nil {
		t.Fatal(err)
	}
	waitUser(t, a, "carol", true)
	if err := b.RevokeUserKey(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	waitUser(t, a, "carol", false)
	for _, nd := range nodes {
		if err := nd.Audit(AuditRecord{Kind: AuditOpening, Door: "ssh"}); err != nil {
			t.Fatal(err)
		}
		waitSent(t, nd)
	}
	if rep := verify(t, a); !rep.OK() || rep.Records != 2 {
		t.Fatalf("audit: %v", rep)
	}
}
