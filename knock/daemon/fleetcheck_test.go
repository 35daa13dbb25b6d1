package daemon

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/knockbeep/knockbeep/knock/fleet"
	"github.com/knockbeep/knockbeep/knock/fleet/fleettest"
)

// --check says what the [cluster] table asks for, and warns about a node
// key or trust list the daemon could not start its node with.
func TestCheckCluster(t *testing.T) {
	tests := []struct {
		name    string
		trusted bool // the node's key is on the trust list
		noKey   bool // the key file is missing
		program string
		want    []string
		notWant string
	}{
		{name: "a good node", trusted: true, program: "{{DIR}}/knockbeep-nats", want: []string{`# fleet "web": an embedded NATS server on 127.0.0.1:14222, no routes: a fleet of one`}, notWant: "# warning:"},
		{name: "key not trusted", want: []string{"# warning: [cluster] this node's key is not on the trust list"}},
		{name: "no key file", noKey: true, want: []string{"# warning: [cluster] node_key:", "knockbeepd --genkey --ed25519"}},
		{name: "no server program", trusted: true, program: "{{DIR}}/nosuch", want: []string{"# warning: [cluster] server_program: exec: ", "nosuch: no such file or directory"}},
		{name: "server program not executable", trusted: true, program: "{{DIR}}/fleet.pub", want: []string{"# warning: [cluster] server_program: exec: ", "fleet.pub\": permission denied"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			key, other := filepath.Join(dir, "node.key"), filepath.Join(dir, "other.key")
			pub, err := fleet.GenerateKeyFile(key, nil)
			if err != nil {
				t.Fatal(err)
			}
			otherPub, err := fleet.GenerateKeyFile(other, nil)
			if err != nil {
				t.Fatal(err)
			}
			trust := fleet.PublicLine(otherPub) + " other\n"
			if tt.trusted {
				trust += fleet.PublicLine(pub) + " me\n"
			}
			writeFile(t, filepath.Join(dir, "fleet.pub"), trust)
			if tt.noKey {
				os.Remove(key)
			}
			// --check looks for the program, it does not run it.
			writeFile(t, filepath.Join(dir, "knockbeep-nats"), "#!/bin/sh\nexit 1\n")
			if err := os.Chmod(filepath.Join(dir, "knockbeep-nats"), 0o755); err != nil {
				t.Fatal(err)
			}
			_, path := testConfig(t, dir, `
speaker = "none"
state_dir = "{{DIR}}/state"
[cluster]
name = "web"
node_key = "{{DIR}}/node.key"
trust = "{{DIR}}/fleet.pub"
serve = "127.0.0.1:14222"
server_program = "`+tt.program+`"
`)
			var stdout, stderr bytes.Buffer
			if status := Main(context.Background(), []string{"--check", "-c", path}, &stdout, &stderr, nil); status != ExitOK {
				t.Fatalf("status %d: %s", status, stderr.String())
			}
			out := stdout.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("--check output lacks %q:\n%s", w, out)
				}
			}
			if tt.notWant != "" && strings.Contains(out, tt.notWant) {
				t.Errorf("--check output has %q:\n%s", tt.notWant, out)
			}
			if !strings.Contains(out, "\n[cluster]\nname = \"web\"\n") {
				t.Errorf("--check's effective config lacks the [cluster] table:\n%s", out)
			}
			if _, err := os.Stat(filepath.Join(dir, "state")); !os.IsNotExist(err) {
				t.Errorf("--check made the state directory (err %v): it must start nothing", err)
			}
		})
	}
}

// --genkey --ed25519 writes a node key the fleet reads, and prints the
// trust list's line for it, and only that, on stdout.
func TestGenNodeKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "node.key")
	var stdout, stderr bytes.Buffer
	if status := Main(context.Background(), []string{"--genkey", "--ed25519", path}, &stdout, &stderr, nil); status != ExitOK {
		t.Fatalf("status %d: %s", status, stderr.String())
	}
	key, err := fleet.ReadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v (err %v), want 0600", st.Mode().Perm(), err)
	}
	trust, err := fleet.ParseTrust(stdout.Bytes())
	if err != nil {
		t.Fatalf("stdout is not a trust list line: %v\n%s", err, stdout.String())
	}
	if _, ok := trust.Trusted(fleet.ID(key.Public().(ed25519.PublicKey))); !ok || trust.Len() != 1 {
		t.Errorf("stdout %q does not trust the key written", stdout.String())
	}
	if strings.Contains(stdout.String()+stderr.String(), "private:") {
		t.Error("--genkey --ed25519 printed the private key")
	}
	stdout.Reset()
	stderr.Reset()
	if status := Main(context.Background(), []string{"--genkey", "--ed25519", path}, &stdout, &stderr, nil); status != ExitFailure ||
		!strings.Contains(stderr.String(), "exists") {
		t.Errorf("second --genkey --ed25519: status %d, %q; want a refusal to overwrite", status, stderr.String())
	}
}

// The fleet's command-line operations without a [cluster] table say there
// is no fleet to act on, before reading anything else.
func TestAdminNeedsACluster(t *testing.T) {
	dir := t.TempDir()
	_, path := testConfig(t, dir, "speaker = \"none\"\nstate_dir = \"{{DIR}}/state\"\n")
	for _, args := range [][]string{
		{"--audit-verify"},
		{"--user-add", "alice", filepath.Join(dir, "no-such.key")},
		{"--user-revoke", "alice"},
	} {
		var stdout, stderr bytes.Buffer
		if status := Main(context.Background(), append([]string{"-c", path}, args...), &stdout, &stderr, nil); status != ExitConfig ||
			!strings.Contains(stderr.String(), args[0]+": the config has no [cluster] table") {
			t.Errorf("%q: status %d, %q; want a config error naming the missing [cluster]", args, status, stderr.String())
		}
	}
}

// --audit-verify beside a running node (the daemon's, started here as a
// bare fleet node on the same config and state directory): a whole chain
// exits 0 with its count, a record removed from the end exits 4 naming it.
func TestAuditVerify(t *testing.T) {
	dir := t.TempDir()
	pub, err := fleet.GenerateKeyFile(filepath.Join(dir, "node.key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "fleet.pub"), fleet.PublicLine(pub)+"\n")
	cfg, path := testConfig(t, dir, `
speaker = "none"
state_dir = "{{DIR}}/state"
[cluster]
name = "verify"
node_key = "{{DIR}}/node.key"
trust = "{{DIR}}/fleet.pub"
serve = "127.0.0.1:-1"
server_program = "`+fleettest.ServerProgram(t)+`"
`)
	live, err := fleet.Open(context.Background(), cfg.Cluster, fleet.Options{StateDir: cfg.StateDir})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := live.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := live.Audit(fleet.AuditRecord{Kind: fleet.AuditOpening, Door: "ssh", Addr: "192.0.2.7"}); err != nil {
			t.Fatal(err)
		}
	}
	for live.AuditPending() > 0 && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	// The config names the port the live node's server chose.
	serve := strings.TrimPrefix(live.ClientURL(), "nats://")
	text := strings.Replace(readAll(t, path), "127.0.0.1:-1", serve, 1)
	writeFile(t, path, text)

	var stdout, stderr bytes.Buffer
	if status := Main(ctx, []string{"-c", path, "--audit-verify"}, &stdout, &stderr, nil); status != ExitOK ||
		!strings.HasPrefix(stdout.String(), "2 records from 1 nodes, 0 breaks") {
		t.Fatalf("status %d, stdout %q, stderr %q; want 0 and 2 whole records", status, stdout.String(), stderr.String())
	}

	nc, err := nats.Connect(live.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, "knockbeep_verify_audit")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMsg(ctx, 2); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	if status := Main(ctx, []string{"-c", path, "--audit-verify"}, &stdout, &stderr, nil); status != ExitBroken ||
		!strings.Contains(stdout.String(), "removed") {
		t.Errorf("status %d, stdout %q, stderr %q; want %d and the removed record named", status, stdout.String(), stderr.String(), ExitBroken)
	}
}

// No [cluster] table: no fleet node, nothing under the state directory
// for one, nothing listening; and a --replay of a file with one joins no
// fleet (a forensic replay must not claim or publish anything).
func TestNoClusterStartsNothing(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := testConfig(t, dir, `
speaker = "none"
state_dir = "{{DIR}}/state"
[[door]]
name = "d"
sequence = ["7000", "8000"]
start_command = ["/bin/true"]
`)
	f, err := openFleet(cfg, slog.New(slog.DiscardHandler))
	if f != nil || err != nil {
		t.Fatalf("openFleet without [cluster] = %v, %v; want nothing", f, err)
	}
	d := replay(t, cfg, Options{Logger: slog.New(slog.DiscardHandler)}, pcapFile(t, syn(0, "192.0.2.10", hostAddr4, 7000), syn(1, "192.0.2.10", hostAddr4, 8000)))
	if d.fleet != nil {
		t.Error("a daemon without [cluster] has a fleet node")
	}
	for _, sub := range []string{"nats", "audit"} {
		if _, err := os.Stat(filepath.Join(cfg.StateDir, sub)); !os.IsNotExist(err) {
			t.Errorf("state directory has %s/ (err %v) without [cluster]", sub, err)
		}
	}
	if s := d.Stats().Fleet; s != (FleetStats{}) {
		t.Errorf("fleet counters %+v without a fleet", s)
	}

	pub, err := fleet.GenerateKeyFile(filepath.Join(dir, "node.key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "fleet.pub"), fleet.PublicLine(pub)+"\n")
	cfg, _ = testConfig(t, dir, `
speaker = "none"
state_dir = "{{DIR}}/state2"
[cluster]
name = "web"
node_key = "{{DIR}}/node.key"
trust = "{{DIR}}/fleet.pub"
serve = "127.0.0.1:-1"
[[door]]
name = "d"
sequence = ["7000", "8000"]
fleet = true
start_command = ["/bin/true"]
`)
	var log bytes.Buffer
	d = replay(t, cfg, Options{Logger: slog.New(slog.NewTextHandler(&log, nil))}, pcapFile(t, syn(0, "192.0.2.10", hostAddr4, 7000), syn(1, "192.0.2.10", hostAddr4, 8000)))
	if d.fleet != nil {
		t.Error("a --replay joined the fleet")
	}
	if _, err := os.Stat(filepath.Join(cfg.StateDir, "nats")); !os.IsNotExist(err) {
		t.Errorf("a --replay started an embedded NATS server (err %v)", err)
	}
	if !strings.Contains(log.String(), "the fleet of [cluster] is not joined") {
		t.Errorf("the replay's log does not say the fleet is not joined:\n%s", log.String())
	}
}
