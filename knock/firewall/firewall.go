package firewall

import (
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"time"
)

// A Set is a firewall set that knockers are added to.
//
// Add lets addr in for d: the firewall forgets it after d by itself,
// whatever becomes of the daemon. Adding an address that is already there
// restarts its time. It returns false and no error when the set holds the
// other address family (a door lists one set per family). Errors name the
// set; ErrNoSet and ErrWrongType say what is wrong with it.
//
// Check verifies, without changing anything, that the set exists, holds
// addresses, and keeps a timeout per element.
//
// Close releases the connection to the firewall; the set's elements stay.
type Set interface {
	Add(addr netip.Addr, d time.Duration) (added bool, err error)
	Check() error
	Close() error
	String() string
}

// An Expirer is a Set whose firewall has no element timeouts of its own
// (pf): the daemon calls Expire regularly, and once at start, to remove
// the addresses added longer than maxAge ago. The firewall keeps when each
// address was added, so a restart loses nothing.
type Expirer interface {
	Expire(maxAge time.Duration) error
}

var (
	// ErrNoSet is the error (wrapped) when a spec names a set, table or
	// family that does not exist.
	ErrNoSet = errors.New("no such set")
	// ErrWrongType is the error (wrapped) when the set exists but cannot
	// hold knockers with timeouts: not of addresses, an interval set, or
	// without the timeout flag.
	ErrWrongType = errors.New("set of the wrong type")
)

// A Spec names a set: "nft:inet/filter/knocked4", "ipset:knocked",
// "pf:knocked".
type Spec struct {
	Kind   string // "nft", "ipset" or "pf"
	Family string // nft only: ip, ip6, inet, arp, bridge or netdev
	Table  string // nft only
	Name   string // the set (nft, ipset) or the table (pf)
}

// SpecForms lists the forms ParseSpec reads, for error and usage messages.
const SpecForms = "nft:FAMILY/TABLE/SET, ipset:NAME or pf:TABLE"

// nftFamilies are the nftables families that can hold a filter set.
var nftFamilies = []string{"ip", "ip6", "inet", "arp", "bridge", "netdev"}

// maxNameLen is the longest table or set name nftables and ipset take
// (NFT_NAME_MAXLEN and IPSET_MAXNAMELEN are 256 and 32; pf's is 32).
const maxNameLen = 31

// ParseSpec reads a set spec. It checks the syntax only; Open and Check
// find out whether the set exists.
func ParseSpec(text string) (Spec, error) {
	kind, rest, ok := strings.Cut(text, ":")
	if !ok {
		return Spec{}, fmt.Errorf("firewall: %q: no kind: use %s", text, SpecForms)
	}
	var s Spec
	switch kind {
	case "nft":
		parts := strings.Split(rest, "/")
		if len(parts) != 3 {
			return Spec{}, fmt.Errorf("firewall: %q: nft sets are written nft:FAMILY/TABLE/SET, e.g. nft:inet/filter/knocked4", text)
		}
		s = Spec{Kind: kind, Family: parts[0], Table: parts[1], Name: parts[2]}
		if !slices.Contains(nftFamilies, s.Family) {
			return Spec{}, fmt.Errorf("firewall: %q: unknown nftables family %q: use one of %s", text, s.Family, strings.Join(nftFamilies, ", "))
		}
		if err := checkName(text, "table", s.Table); err != nil {
			return Spec{}, err
		}
	case "ipset", "pf":
		s = Spec{Kind: kind, Name: rest}
	default:
		return Spec{}, fmt.Errorf("firewall: %q: unknown kind %q: use %s", text, kind, SpecForms)
	}
	if err := checkName(text, "set", s.Name); err != nil {
		return Spec{}, err
	}
	return s, nil
}

func checkName(spec, what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("firewall: %q: empty %s name", spec, what)
	case len(name) > maxNameLen:
		return fmt.Errorf("firewall: %q: %s name longer than %d bytes", spec, what, maxNameLen)
	case strings.ContainsAny(name, "/ \t\n\x00"):
		return fmt.Errorf("firewall: %q: %s name %q has a slash, a space or a NUL", spec, what, name)
	}
	return nil
}

// String is the spec's text form, which ParseSpec reads back.
func (s Spec) String() string {
	if s.Kind == "nft" {
		return "nft:" + s.Family + "/" + s.Table + "/" + s.Name
	}
	return s.Kind + ":" + s.Name
}

// Open connects to the firewall that holds the set s names. It does not
// look the set up: Check does, and Add reports a missing set.
func Open(s Spec) (Set, error) {
	open, ok := backends[s.Kind]
	if !ok {
		return nil, fmt.Errorf("firewall: %s: %s sets are not supported on %s", s, s.Kind, runtime.GOOS)
	}
	return open(s)
}

// checkTimeout refuses an open_for the set's firewall cannot store: below
// its resolution (nftables: milliseconds, ipset: seconds) or above its
// maximum.
func checkTimeout(s fmt.Stringer, d time.Duration, resolution, maxTimeout time.Duration) error {
	if d < resolution || d > maxTimeout {
		return fmt.Errorf("firewall: %s: open_for %v is outside %v..%v", s, d, resolution, maxTimeout)
	}
	return nil
}
