package firewall

import (
	"strings"
	"testing"
	"time"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    Spec
		wantErr string
	}{
		{name: "nft inet", text: "nft:inet/filter/knocked4", want: Spec{Kind: "nft", Family: "inet", Table: "filter", Name: "knocked4"}},
		{name: "nft ip6", text: "nft:ip6/fw/k6", want: Spec{Kind: "nft", Family: "ip6", Table: "fw", Name: "k6"}},
		{name: "ipset", text: "ipset:knocked", want: Spec{Kind: "ipset", Name: "knocked"}},
		{name: "pf", text: "pf:knocked", want: Spec{Kind: "pf", Name: "knocked"}},
		{name: "no kind", text: "knocked", wantErr: "no kind"},
		{name: "unknown kind", text: "iptables:knocked", wantErr: `unknown kind "iptables"`},
		{name: "nft too few parts", text: "nft:inet/knocked", wantErr: "nft:FAMILY/TABLE/SET"},
		{name: "nft too many parts", text: "nft:inet/a/b/c", wantErr: "nft:FAMILY/TABLE/SET"},
		{name: "nft unknown family", text: "nft:ipv4/filter/k", wantErr: `unknown nftables family "ipv4"`},
		{name: "nft empty table", text: "nft:inet//k", wantErr: "empty table name"},
		{name: "nft empty set", text: "nft:inet/filter/", wantErr: "empty set name"},
		{name: "ipset empty", text: "ipset:", wantErr: "empty set name"},
		{name: "space in name", text: "ipset:a b", wantErr: "space"},
		{name: "too long", text: "pf:" + strings.Repeat("x", 32), wantErr: "longer than 31"},
		{name: "NUL", text: "pf:a\x00", wantErr: "NUL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSpec(tt.text)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSpec(%q) = %+v, %v; want an error containing %q", tt.text, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseSpec(%q) = %+v, %v; want %+v", tt.text, got, err, tt.want)
			}
			if got.String() != tt.text {
				t.Errorf("String() = %q, want %q", got.String(), tt.text)
			}
		})
	}
}

func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"nft:inet/filter/knocked4", "ipset:knocked", "pf:t", "nft:inet//", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseSpec(text)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "firewall: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		// A spec that parses prints back to itself and names a set.
		if s.String() != text {
			t.Fatalf("ParseSpec(%q).String() = %q", text, s.String())
		}
		if s.Name == "" || len(s.Name) > maxNameLen {
			t.Fatalf("ParseSpec(%q) accepted set name %q", text, s.Name)
		}
	})
}

func TestOpenUnsupportedKind(t *testing.T) {
	_, err := Open(Spec{Kind: "nosuch", Name: "x"})
	if err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Fatalf("Open of an unknown kind: %v, want \"not supported\"", err)
	}
}

func TestCheckTimeout(t *testing.T) {
	s, _ := ParseSpec("ipset:k")
	if err := checkTimeout(s, 0, time.Second, time.Hour); err == nil {
		t.Error("open_for 0 accepted")
	}
	if err := checkTimeout(s, 2*time.Hour, time.Second, time.Hour); err == nil {
		t.Error("open_for above the maximum accepted")
	}
	if err := checkTimeout(s, time.Minute, time.Second, time.Hour); err != nil {
		t.Errorf("open_for 1m refused: %v", err)
	}
}
