package capture

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name    string
		ifaces  []string
		filter  Filter
		wantErr string
	}{
		{"no interface", nil, musicDoors, `no interface to capture on: name one or more, or "any"`},
		{"unknown interface", []string{"lo", "nosuch0"}, musicDoors, `no interface "nosuch0" on this host (it has: lo`},
		{"any with others", []string{"lo", Any}, musicDoors, `"any" already covers every interface`},
		{"same interface twice", []string{"lo", "lo"}, musicDoors, `interface "lo" given twice`},
		{"invalid filter", []string{"lo"}, Filter{Rules: []Rule{{Proto: 17, Port: 1, Flags: musicDoors.Rules[0].Flags}, {Proto: 2}}}, "rule 1: protocol proto(2) is neither tcp nor udp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Open(tt.ifaces, tt.filter, Options{})
			if err == nil {
				c.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Open(%q) error = %v, want one containing %q", tt.ifaces, err, tt.wantErr)
			}
		})
	}
}

func TestLocalAddrs(t *testing.T) {
	addrs, err := LocalAddrs()
	if err != nil {
		t.Fatalf("LocalAddrs() error: %v", err)
	}
	if !slices.Contains(addrs, netip.MustParseAddr("127.0.0.1")) {
		t.Errorf("LocalAddrs() = %v, want it to hold 127.0.0.1 (lo)", addrs)
	}
	for i, a := range addrs {
		if !a.IsValid() || a.Zone() != "" || a.Is4In6() {
			t.Errorf("LocalAddrs()[%d] = %v, want addresses as packets carry them: no zone, IPv4 unmapped", i, a)
		}
		if i > 0 && addrs[i-1].Compare(a) >= 0 {
			t.Errorf("LocalAddrs() = %v, want sorted without duplicates", addrs)
		}
	}
}
