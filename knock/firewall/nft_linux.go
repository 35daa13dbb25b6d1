package firewall

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"
)

// nftSet is an nftables set of ipv4_addr or ipv6_addr with "flags
// timeout", reached over a netlink socket that stays open: an opening is
// one batch, with no process started.
type nftSet struct {
	spec   Spec
	family nftables.TableFamily

	mu    sync.Mutex
	conn  *nftables.Conn // lookups
	batch *nftBatcher    // the elements
	set   *nftables.Set  // looked up at first use; forgotten after an error, in case the set was made anew
}

var _ Set = (*nftSet)(nil)

var nftFamilyByName = map[string]nftables.TableFamily{
	"ip":     nftables.TableFamilyIPv4,
	"ip6":    nftables.TableFamilyIPv6,
	"inet":   nftables.TableFamilyINet,
	"arp":    nftables.TableFamilyARP,
	"bridge": nftables.TableFamilyBridge,
	"netdev": nftables.TableFamilyNetdev,
}

// nftMaxTimeout bounds open_for: nftables reads element timeouts as 64-bit
// milliseconds, so any bound is ours, and a door open for more than a year
// is a mistake rather than a door.
const nftMaxTimeout = 365 * 24 * time.Hour

func openNFT(s Spec) (Set, error) {
	// The socket opens in the caller's network namespace and stays there.
	conn, err := nftables.New(nftables.AsLasting())
	if err != nil {
		return nil, fmt.Errorf("firewall: %s: open netlink: %w", s, err)
	}
	batch, err := newNFTBatcher()
	if err != nil {
		conn.CloseLasting()
		return nil, fmt.Errorf("firewall: %s: open netlink: %w", s, err)
	}
	return &nftSet{spec: s, family: nftFamilyByName[s.Family], conn: conn, batch: batch}, nil
}

func (n *nftSet) String() string { return n.spec.String() }

func (n *nftSet) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return errors.Join(n.conn.CloseLasting(), n.batch.close())
}

func (n *nftSet) Check() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.set = nil
	_, err := n.lookupLocked()
	return err
}

func (n *nftSet) lookupLocked() (*nftables.Set, error) {
	if n.set != nil {
		return n.set, nil
	}
	set, err := n.conn.GetSetByName(&nftables.Table{Family: n.family, Name: n.spec.Table}, n.spec.Name)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("firewall: %s: %w: create it (nft add set %s %s %s '{ type ipv4_addr; flags timeout; }')",
				n.spec, ErrNoSet, n.spec.Family, n.spec.Table, n.spec.Name)
		}
		return nil, fmt.Errorf("firewall: %s: look up the set: %w", n.spec, err)
	}
	switch {
	case set.IsMap || set.Concatenation || (set.KeyType.Name != nftables.TypeIPAddr.Name && set.KeyType.Name != nftables.TypeIP6Addr.Name):
		return nil, fmt.Errorf("firewall: %s: %w: its type is %q; a door's set is of type ipv4_addr or ipv6_addr", n.spec, ErrWrongType, set.KeyType.Name)
	case set.Interval:
		return nil, fmt.Errorf("firewall: %s: %w: it has flags interval; a door adds single addresses: drop the flag", n.spec, ErrWrongType)
	case !set.HasTimeout:
		return nil, fmt.Errorf("firewall: %s: %w: it has no flags timeout, so an opening would never end: add \"flags timeout;\" to the set", n.spec, ErrWrongType)
	}
	n.set = set
	return set, nil
}

func (n *nftSet) Add(addr netip.Addr, d time.Duration) (bool, error) {
	if err := checkTimeout(n.spec, d, time.Millisecond, nftMaxTimeout); err != nil {
		return false, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	set, err := n.lookupLocked()
	if err != nil {
		return false, err
	}
	addr = addr.Unmap()
	if addr.Is4() != (set.KeyType.Name == nftables.TypeIPAddr.Name) {
		return false, nil
	}
	if err := n.addLocked(addr, d); err != nil {
		n.set = nil
		if errors.Is(err, unix.ENOENT) {
			return false, fmt.Errorf("firewall: %s: add %s: %w (was it deleted?)", n.spec, addr, ErrNoSet)
		}
		return false, fmt.Errorf("firewall: %s: add %s: %w", n.spec, addr, err)
	}
	return true, nil
}

// addLocked adds addr for d, or restarts its time when it is there.
//
// An address that is not in the set, the knocker waiting at the door,
// takes one message: an add with NLM_F_EXCL, the fastest way in (p50 5 µs
// in BenchmarkAdd, against 0.1 ms for the batch below). Only when the
// kernel answers that the address is there (EEXIST: the knocker is in
// already, and waits for nothing) does a second batch restart its time.
// A plain add of an element that is there keeps its old expiry on older
// kernels whatever it says, and on newer ones (6.18 tested) unless it
// changes the timeout or carries an expiration; so the batch makes sure
// the element exists, deletes it and adds it anew, one transaction,
// never a moment without the element, which restarts the time on every
// kernel with nftables, with no probe of which kind this one is.
func (n *nftSet) addLocked(addr netip.Addr, d time.Duration) error {
	var key []byte // the address in network order, as the set stores it
	if addr.Is4() {
		a := addr.As4()
		key = a[:]
	} else {
		a := addr.As16()
		key = a[:]
	}
	fam, table, name := byte(n.family), n.spec.Table, n.spec.Name
	b := n.batch
	b.begin()
	b.elem(unix.NFT_MSG_NEWSETELEM, unix.NLM_F_CREATE|unix.NLM_F_EXCL, fam, table, name, key, d)
	err := b.commit()
	if !errors.Is(err, unix.EEXIST) {
		return err
	}
	b.begin()
	b.elem(unix.NFT_MSG_NEWSETELEM, unix.NLM_F_CREATE, fam, table, name, key, d)
	b.elem(unix.NFT_MSG_DELSETELEM, 0, fam, table, name, key, 0)
	b.elem(unix.NFT_MSG_NEWSETELEM, unix.NLM_F_CREATE, fam, table, name, key, d)
	return b.commit()
}
