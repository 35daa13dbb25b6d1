package firewall

import (
	"errors"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock/send/sendtest"
)

// ipsetNamespace makes a network namespace with the test's ipsets, or
// skips without root or the ipset command.
func ipsetNamespace(t testing.TB) *sendtest.Netns {
	t.Helper()
	if _, err := exec.LookPath("ipset"); err != nil {
		t.Skip("needs the ipset command to build the test sets: apt-get install ipset")
	}
	ns := sendtest.NewNetns(t)
	for _, set := range [][]string{
		{"knocked", "hash:ip", "timeout", "3600"},
		{"knocked6", "hash:ip", "family", "inet6", "timeout", "3600"},
		{"forever", "hash:ip"},
		{"ports", "bitmap:port", "range", "1-1024", "timeout", "60"},
		{"pairs", "hash:ip,port", "timeout", "60"},
	} {
		if out, err := exec.Command("ip", append([]string{"netns", "exec", ns.Name(), "ipset", "create"}, set...)...).CombinedOutput(); err != nil {
			t.Fatalf("ipset create %v: %v: %s", set, err, out)
		}
	}
	return ns
}

// ipsetTimeout is the timeout left of addr in set as ipset lists it, or -1.
func ipsetTimeout(t *testing.T, ns *sendtest.Netns, set, addr string) int {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns.Name(), "ipset", "list", set).Output()
	if err != nil {
		t.Fatalf("ipset list %s: %v", set, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == addr && f[1] == "timeout" {
			var n int
			for _, c := range f[2] {
				n = n*10 + int(c-'0')
			}
			return n
		}
	}
	return -1
}

func TestIPSetAddsWithKernelTimeout(t *testing.T) {
	ns := ipsetNamespace(t)
	k4, k6 := openIn(t, ns, "ipset:knocked"), openIn(t, ns, "ipset:knocked6")
	for _, s := range []Set{k4, k6} {
		if err := s.Check(); err != nil {
			t.Fatalf("Check(%s): %v", s, err)
		}
	}
	v4, v6 := netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("2001:db8::7")
	if added, err := k4.Add(v4, time.Hour); !added || err != nil {
		t.Fatalf("knocked.Add(%s) = %v, %v", v4, added, err)
	}
	if added, err := k4.Add(v6, time.Hour); added || err != nil {
		t.Fatalf("knocked.Add(%s) = %v, %v; want not added, no error", v6, added, err)
	}
	if added, err := k6.Add(v6, 90*time.Second); !added || err != nil {
		t.Fatalf("knocked6.Add(%s) = %v, %v", v6, added, err)
	}
	if got := ipsetTimeout(t, ns, "knocked", "192.0.2.7"); got < 3590 || got > 3600 {
		t.Errorf("192.0.2.7's timeout = %d, want about 3600", got)
	}
	if got := ipsetTimeout(t, ns, "knocked6", "2001:db8::7"); got < 80 || got > 90 {
		t.Errorf("2001:db8::7's timeout = %d, want about 90", got)
	}
	// Opening again restarts the time (ipset's -exist), in one message.
	if _, err := k6.Add(v6, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := ipsetTimeout(t, ns, "knocked6", "2001:db8::7"); got < 7100 {
		t.Errorf("after reopening for 2h the timeout is %d, want about 7200", got)
	}
}

func TestIPSetRefusesSetsThatCannotHoldKnockers(t *testing.T) {
	ns := ipsetNamespace(t)
	tests := []struct {
		spec    string
		want    error
		wantMsg string
	}{
		{"ipset:nosuch", ErrNoSet, "ipset create"},
		{"ipset:forever", ErrWrongType, "timeout option"},
		{"ipset:ports", ErrWrongType, "bitmap:port"},
		{"ipset:pairs", ErrWrongType, "hash:ip,port"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			s := openIn(t, ns, tt.spec)
			if err := s.Check(); !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Check: %v, want %v mentioning %q", err, tt.want, tt.wantMsg)
			}
			if _, err := s.Add(netip.MustParseAddr("192.0.2.1"), time.Hour); !errors.Is(err, tt.want) {
				t.Fatalf("Add: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestIPSetTimeoutBounds(t *testing.T) {
	ns := ipsetNamespace(t)
	k4 := openIn(t, ns, "ipset:knocked")
	if _, err := k4.Add(netip.MustParseAddr("192.0.2.1"), 500*time.Millisecond); err == nil {
		t.Error("open_for below ipset's one second accepted")
	}
}
