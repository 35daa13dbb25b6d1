package capture

import (
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
