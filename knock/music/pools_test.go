package music

import (
	"net/netip"
	"strings"
	"testing"
)

var addrFileNameTests = []struct {
	name string
	addr string
	stem string
}{
	{"ipv4", "192.0.2.1", "192.0.2.1"},
	{"ipv6", "2001:db8::1", "2001-db8--1"},
	{"ipv6 all zeros", "::", "--"},
	{"ipv4-mapped", "::ffff:192.0.2.1", "--ffff-192.0.2.1"},
	{"zone dropped", "fe80::1%eth0", "fe80--1"},
}

func TestAddrFileName(t *testing.T) {
	for _, tt := range addrFileNameTests {
		t.Run(tt.name, func(t *testing.T) {
			addr := netip.MustParseAddr(tt.addr)
			if got := addrFileName(addr); got != tt.stem {
				t.Errorf("addrFileName(%s) = %q, want %q", addr, got, tt.stem)
			}
			back, err := parseAddrFileName(tt.stem)
			if err != nil {
				t.Fatalf("parseAddrFileName(%q): %v", tt.stem, err)
			}
			if want := addr.WithZone(""); back != want {
				t.Errorf("parseAddrFileName(%q) = %s, want %s", tt.stem, back, want)
			}
		})
	}
}

func TestParseAddrFileNameRejects(t *testing.T) {
	for _, stem := range []string{"", "notes", "192.0.2.1.bak", "2001:db8::1", "2001-DB8--1", "fe80--1%eth0", "../192.0.2.1", "2001-0db8--1"} {
		if addr, err := parseAddrFileName(stem); err == nil {
			t.Errorf("parseAddrFileName(%q) = %s, want an error: addrFileName never writes it", stem, addr)
		}
	}
}

// FuzzAddrFileName: every address round-trips through its file name, and
// every name that parses is the name of what it parses to, holds no path
// separator and no colon.
func FuzzAddrFileName(f *testing.F) {
	for _, tt := range addrFileNameTests {
		f.Add(tt.stem)
		f.Add(string(netip.MustParseAddr(tt.addr).AsSlice()))
	}
	f.Fuzz(func(t *testing.T, s string) {
		if addr, ok := netip.AddrFromSlice([]byte(s)); ok {
			stem := addrFileName(addr)
			if back, err := parseAddrFileName(stem); err != nil || back != addr {
				t.Errorf("%s: file name %q reads back as %s, %v", addr, stem, back, err)
			}
		}
		addr, err := parseAddrFileName(s)
		if err != nil {
			return
		}
		if stem := addrFileName(addr); stem != s {
			t.Errorf("parseAddrFileName(%q) = %s, whose file name is %q", s, addr, stem)
		}
		if strings.ContainsAny(s, "/:%\x00") {
			t.Errorf("parseAddrFileName accepted %q, which has a separator, colon, zone or NUL", s)
		}
	})
}
