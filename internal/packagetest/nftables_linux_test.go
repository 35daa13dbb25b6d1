package packagetest

import (
	"os"
	"os/exec"
	"strings"
	"testing"

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
	for _, tt := range []struct {
		name, set, ip string
		argv          []string
	}{
		{"ipv4", "knocked4", "192.0.2.7", door.Start.Argv},
		{"ipv6", "knocked6", "2001:db8::7", door.Start6.Argv},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.argv) == 0 {
				t.Fatal("the door has no start command for this family")
			}
			argv := make([]string, len(tt.argv))
			for i, a := range tt.argv {
				argv[i] = strings.ReplaceAll(a, "%IP%", tt.ip)
			}
			if out, err := inNS(argv...); err != nil {
				t.Fatalf("%q: %v\n%s", argv, err, out)
			}
			out, err := inNS(nft, "list", "set", "inet", "filter", tt.set)
			if err != nil {
				t.Fatalf("nft list set: %v\n%s", err, out)
			}
			if !strings.Contains(out, tt.ip+" timeout 1h expires") {
				t.Errorf("set %s after the start command, want %s with a 1h timeout:\n%s", tt.set, tt.ip, out)
			}
		})
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
