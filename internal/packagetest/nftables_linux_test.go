package packagetest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock/config"
	"github.com/knockbeep/knockbeep/knock/send/sendtest"
)

// TestNftablesExample loads configs/nftables.conf into a network namespace
// of its own (the host's ruleset is never touched), then runs the start
// commands of configs/nftables-door.toml as knockbeepd would for an IPv4
// and an IPv6 knocker, and checks that each address landed in its set with
// a timeout.
func TestNftablesExample(t *testing.T) {
	nft, err := exec.LookPath("nft")
	if err != nil {
		t.Skip("needs nft to check the nftables example: apt-get install nftables")
	}
	ns := sendtest.NewNetns(t)
	inNS := func(args ...string) (string, error) {
		out, err := exec.Command("ip", append([]string{"netns", "exec", ns.Name()}, args...)...).CombinedOutput()
		return string(out), err
	}
	ruleset := repoPath(t, "configs/nftables.conf")
	if out, err := inNS(nft, "-c", "-f", ruleset); err != nil {
		t.Fatalf("nft -c -f %s: %v\n%s", ruleset, err, out)
	}
	if out, err := inNS(nft, "-f", ruleset); err != nil {
		t.Fatalf("nft -f %s: %v\n%s", ruleset, err, out)
	}

	cfg, err := config.Load(repoPath(t, "configs/nftables-door.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Doors) != 1 {
		t.Fatalf("configs/nftables-door.toml: %d doors, want 1", len(cfg.Doors))
	}
	door := cfg.Doors[0]
	if door.OpenFor != time.Hour {
		t.Errorf("open_for = %v, want 1h", door.OpenFor)
	}
	// Each set the door opens exists in the ruleset and keeps timeouts
	// (the daemon's own test, knock/daemon's TestFirewallDoorOpensInTheKernel,
	// opens SSH through them).
	want := map[string]string{"nft:inet/filter/knocked4": "ipv4_addr", "nft:inet/filter/knocked6": "ipv6_addr"}
	if len(door.Open) != len(want) {
		t.Fatalf("open = %q, want the two sets %v", door.Open, want)
	}
	for _, spec := range door.Open {
		typ, ok := want[spec]
		if !ok {
			t.Fatalf("open lists %q, not one of the ruleset's sets", spec)
		}
		out, err := inNS(nft, "list", "set", "inet", "filter", strings.TrimPrefix(spec, "nft:inet/filter/"))
		if err != nil {
			t.Fatalf("nft list set for %s: %v\n%s", spec, err, out)
		}
		if !strings.Contains(out, "type "+typ) || !strings.Contains(out, "flags timeout") {
			t.Errorf("%s is not a %s set with flags timeout:\n%s", spec, typ, out)
		}
	}
}

// TestNftablesDocMatchesDoor keeps the door shown in docs/nftables.md the
// one in configs/nftables-door.toml, which TestNftablesExample runs.
func TestNftablesDocMatchesDoor(t *testing.T) {
	doc, err := os.ReadFile(repoPath(t, "docs/nftables.md"))
	if err != nil {
		t.Fatal(err)
	}
	door, err := os.ReadFile(repoPath(t, "configs/nftables-door.toml"))
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(doc), "```toml\n")
	block, _, _ = strings.Cut(block, "```")
	_, want, _ := strings.Cut(string(door), "[[door]]")
	if !ok || block != "[[door]]"+want {
		t.Errorf("docs/nftables.md's toml block differs from configs/nftables-door.toml's door:\n%s\nwant:\n%s", block, "[[door]]"+want)
	}
}
