package firewall

import (
	"encoding/json"
	"errors"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock/send/sendtest"
)

// nftNamespace makes a network namespace with ruleset loaded by nft, or
// skips without root or nft. The host's own ruleset is never touched.
func nftNamespace(t testing.TB, ruleset string) *sendtest.Netns {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("needs nftables' nft command to build the test ruleset: apt-get install nftables")
	}
	ns := sendtest.NewNetns(t)
	cmd := exec.Command("ip", "netns", "exec", ns.Name(), "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft -f: %v: %s", err, out)
	}
	return ns
}

const testRuleset = `
table inet filter {
	set knocked4 { type ipv4_addr; flags timeout; }
	set knocked6 { type ipv6_addr; flags timeout; }
	set forever4 { type ipv4_addr; }
	set ranges4 { type ipv4_addr; flags interval, timeout; }
	set macs { type ether_addr; flags timeout; }
}
`

// openIn opens spec inside ns, so that its netlink socket talks to the
// namespace's ruleset.
func openIn(t testing.TB, ns *sendtest.Netns, text string) Set {
	t.Helper()
	spec, err := ParseSpec(text)
	if err != nil {
		t.Fatal(err)
	}
	var s Set
	if err := ns.Do(func() (err error) { s, err = Open(spec); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type nftElem struct {
	Addr    string
	Timeout int // seconds
	Expires int // seconds
}

// nftElements lists a set's elements as nft itself shows them.
func nftElements(t *testing.T, ns *sendtest.Netns, set string) []nftElem {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns.Name(), "nft", "-j", "list", "set", "inet", "filter", set).Output()
	if err != nil {
		t.Fatalf("nft list set %s: %v", set, err)
	}
	var doc struct {
		Nftables []struct {
			Set *struct {
				Elem []struct {
					Elem struct {
						Val     string `json:"val"`
						Timeout int    `json:"timeout"`
						Expires int    `json:"expires"`
					} `json:"elem"`
				} `json:"elem"`
			} `json:"set"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("nft -j: %v: %s", err, out)
	}
	var elems []nftElem
	for _, o := range doc.Nftables {
		if o.Set == nil {
			continue
		}
		for _, e := range o.Set.Elem {
			elems = append(elems, nftElem{Addr: e.Elem.Val, Timeout: e.Elem.Timeout, Expires: e.Elem.Expires})
		}
	}
	return elems
}

func TestNFTAddsWithKernelTimeout(t *testing.T) {
	ns := nftNamespace(t, testRuleset)
	k4, k6 := openIn(t, ns, "nft:inet/filter/knocked4"), openIn(t, ns, "nft:inet/filter/knocked6")
	for _, s := range []Set{k4, k6} {
		if err := s.Check(); err != nil {
			t.Fatalf("Check(%s): %v", s, err)
		}
	}
	v4, v6 := netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("2001:db8::7")

	if added, err := k4.Add(v4, time.Hour); !added || err != nil {
		t.Fatalf("knocked4.Add(%s) = %v, %v; want added", v4, added, err)
	}
	if added, err := k4.Add(v6, time.Hour); added || err != nil {
		t.Fatalf("knocked4.Add(%s) = %v, %v; want not added (other family), no error", v6, added, err)
	}
	if added, err := k6.Add(v6, time.Hour); !added || err != nil {
		t.Fatalf("knocked6.Add(%s) = %v, %v; want added", v6, added, err)
	}
	if added, err := k4.Add(netip.MustParseAddr("::ffff:192.0.2.8"), time.Hour); !added || err != nil {
		t.Fatalf("knocked4.Add(v4-mapped) = %v, %v; want added as IPv4", added, err)
	}
	got := nftElements(t, ns, "knocked4")
	if len(got) != 2 || got[0].Timeout != 3600 {
		t.Fatalf("knocked4 = %+v, want 192.0.2.7 and 192.0.2.8 with timeout 3600", got)
	}
	if got := nftElements(t, ns, "knocked6"); len(got) != 1 || got[0].Addr != "2001:db8::7" {
		t.Fatalf("knocked6 = %+v, want 2001:db8::7", got)
	}
}

func TestNFTReopenRestartsTheTime(t *testing.T) {
	ns := nftNamespace(t, testRuleset)
	k4 := openIn(t, ns, "nft:inet/filter/knocked4")
	addr := netip.MustParseAddr("192.0.2.9")
	if _, err := k4.Add(addr, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := k4.Add(addr, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	got := nftElements(t, ns, "knocked4")
	if len(got) != 1 || got[0].Timeout != 7200 || got[0].Expires <= 30 {
		t.Fatalf("after a second opening for 2h: %+v, want one element, timeout 7200, expiring after more than 30 s", got)
	}
}

// TestNFTReopenWithTheSameTimeoutRestartsTheTime is the common
// re-opening: the same door, so the same open_for. The element is made by
// nft with 10 minutes left of its hour, as if knocked long ago, so that
// no clock decides the test: an add that kept the old expiry (as an add
// without NLM_F_EXCL does unless the timeout changes) leaves at most 10
// minutes, a restart nearly an hour.
func TestNFTReopenWithTheSameTimeoutRestartsTheTime(t *testing.T) {
	ns := nftNamespace(t, testRuleset+`
add element inet filter knocked4 { 192.0.2.13 timeout 1h expires 10m }
`)
	k4 := openIn(t, ns, "nft:inet/filter/knocked4")
	if before := nftElements(t, ns, "knocked4"); len(before) != 1 || before[0].Expires > 600 {
		t.Fatalf("before: %+v, want 192.0.2.13 expiring within 10 minutes", before)
	}
	if added, err := k4.Add(netip.MustParseAddr("192.0.2.13"), time.Hour); !added || err != nil {
		t.Fatalf("Add = %v, %v; want added", added, err)
	}
	got := nftElements(t, ns, "knocked4")
	if len(got) != 1 || got[0].Addr != "192.0.2.13" || got[0].Timeout != 3600 || got[0].Expires < 1800 {
		t.Fatalf("after re-opening for 1h: %+v, want 192.0.2.13 with timeout 3600 expiring in nearly an hour", got)
	}
}

func TestNFTElementExpiresInTheKernel(t *testing.T) {
	ns := nftNamespace(t, testRuleset)
	k4 := openIn(t, ns, "nft:inet/filter/knocked4")
	if _, err := k4.Add(netip.MustParseAddr("192.0.2.10"), 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// The kernel, not this process, ends the opening: the set is read by
	// nft, another process, until the element is gone.
	deadline := time.Now().Add(10 * time.Second)
	for len(nftElements(t, ns, "knocked4")) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the element was still there 10 s after its 300 ms timeout")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestNFTRefusesSetsThatCannotHoldKnockers(t *testing.T) {
	ns := nftNamespace(t, testRuleset)
	tests := []struct {
		spec    string
		want    error
		wantMsg string
	}{
		{"nft:inet/filter/nosuch", ErrNoSet, "nft add set"},
		{"nft:inet/nosuch/knocked4", ErrNoSet, "create it"},
		{"nft:ip/filter/knocked4", ErrNoSet, "create it"},
		{"nft:inet/filter/forever4", ErrWrongType, "flags timeout"},
		{"nft:inet/filter/ranges4", ErrWrongType, "interval"},
		{"nft:inet/filter/macs", ErrWrongType, "ether_addr"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			s := openIn(t, ns, tt.spec)
			err := s.Check()
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Check: %v, want %v mentioning %q", err, tt.want, tt.wantMsg)
			}
			if _, err := s.Add(netip.MustParseAddr("192.0.2.1"), time.Hour); !errors.Is(err, tt.want) {
				t.Fatalf("Add: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNFTSetDeletedAndMadeAnew(t *testing.T) {
	ns := nftNamespace(t, testRuleset)
	k4 := openIn(t, ns, "nft:inet/filter/knocked4")
	if _, err := k4.Add(netip.MustParseAddr("192.0.2.11"), time.Hour); err != nil {
		t.Fatal(err)
	}
	nft := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", append([]string{"netns", "exec", ns.Name(), "nft"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("nft %v: %v: %s", args, err, out)
		}
	}
	nft("delete", "set", "inet", "filter", "knocked4")
	if _, err := k4.Add(netip.MustParseAddr("192.0.2.12"), time.Hour); !errors.Is(err, ErrNoSet) {
		t.Fatalf("Add after the set was deleted: %v, want ErrNoSet", err)
	}
	nft("add", "set", "inet", "filter", "knocked4", "{ type ipv4_addr; flags timeout; }")
	if added, err := k4.Add(netip.MustParseAddr("192.0.2.12"), time.Hour); !added || err != nil {
		t.Fatalf("Add after the set was made anew: %v, %v", added, err)
	}
}
