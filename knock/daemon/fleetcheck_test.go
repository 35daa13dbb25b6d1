package daemon

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/knockbeep/knockbeep/knock/fleet"
)

// --check says what the [cluster] table asks for, and warns about a node
// key or trust list the daemon could not start its node with.
func TestCheckCluster(t *testing.T) {
	tests := []struct {
		name    string
		trusted bool // the node's key is on the trust list
		noKey   bool // the key file is missing
		want    []string
		notWant string
	}{
		{name: "a good node", trusted: true, want: []string{`# fleet "web": an embedded NATS server on 127.0.0.1:14222, no routes: a fleet of one`}, notWant: "# warning:"},
		{name: "key not trusted", want: []string{"# warning: [cluster] this node's key is not on the trust list"}},
		{name: "no key file", noKey: true, want: []string{"# warning: [cluster] node_key:", "knockbeepd --genkey --ed25519"}},
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
			_, path := testConfig(t, dir, `
speaker = "none"
state_dir = "{{DIR}}/state"
[cluster]
name = "web"
node_key = "{{DIR}}/node.key"
trust = "{{DIR}}/fleet.pub"
serve = "127.0.0.1:14222"
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
