package firewall

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Constants of the kernel's ipset netlink protocol that x/sys/unix lacks,
// named as in linux/netfilter/ipset/ip_set.h.
const (
	_NFNL_SUBSYS_IPSET = 6

	_IPSET_PROTOCOL = 6 // the oldest protocol every kernel since 3.x takes

	_IPSET_CMD_ADD  = 9
	_IPSET_CMD_LIST = 7

	_IPSET_ATTR_PROTOCOL = 1
	_IPSET_ATTR_SETNAME  = 2
	_IPSET_ATTR_TYPENAME = 3
	_IPSET_ATTR_FAMILY   = 5
	_IPSET_ATTR_DATA     = 7

	_IPSET_ATTR_IP      = 1 // inside IPSET_ATTR_DATA
	_IPSET_ATTR_TIMEOUT = 6

	_IPSET_ATTR_IPADDR_IPV4 = 1 // inside IPSET_ATTR_IP
	_IPSET_ATTR_IPADDR_IPV6 = 2

	_NFPROTO_IPV4 = 2
	_NFPROTO_IPV6 = 10

	_IPSET_ERR_TIMEOUT     = 4107 // the set has no timeout option
	_IPSET_ERR_IPADDR_IPV4 = 4109 // an IPv6 address for an IPv4 set
	_IPSET_ERR_IPADDR_IPV6 = 4110
)

// ipsetMaxTimeout is the longest timeout ipset takes: seconds in 31 bits.
const ipsetMaxTimeout = (1<<31 - 1) * time.Second

// ipSet is an ipset that holds addresses (hash:ip, hash:net, ...) created
// with the timeout option. Adding without NLM_F_EXCL is ipset's -exist: an
// address already there gets the new timeout, in one message.
type ipSet struct {
	spec Spec

	mu     sync.Mutex
	conn   *netlink.Conn
	family uint8 // NFPROTO_IPV4 or _IPV6, learned from the kernel at first use
}

var _ Set = (*ipSet)(nil)

func openIPSet(s Spec) (Set, error) {
	conn, err := netlink.Dial(unix.NETLINK_NETFILTER, nil)
	if err != nil {
		return nil, fmt.Errorf("firewall: %s: open netlink: %w", s, err)
	}
	return &ipSet{spec: s, conn: conn}, nil
}

func (p *ipSet) String() string { return p.spec.String() }

func (p *ipSet) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conn.Close()
}

// request sends one ipset command and returns the kernel's answers.
func (p *ipSet) request(cmd uint16, flags netlink.HeaderFlags, family uint8, attrs func(*netlink.AttributeEncoder)) ([]netlink.Message, error) {
	ae := netlink.NewAttributeEncoder()
	ae.Uint8(_IPSET_ATTR_PROTOCOL, _IPSET_PROTOCOL)
	ae.String(_IPSET_ATTR_SETNAME, p.spec.Name)
	if attrs != nil {
		attrs(ae)
	}
	body, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	// nfgenmsg: family, version (NFNETLINK_V0), resource id (big endian).
	data := append([]byte{family, unix.NFNETLINK_V0, 0, 0}, body...)
	return p.conn.Execute(netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(_NFNL_SUBSYS_IPSET<<8 | cmd), Flags: netlink.Request | netlink.Acknowledge | flags},
		Data:   data,
	})
}

func (p *ipSet) Check() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.family = 0
	return p.lookupLocked()
}

// lookupLocked lists the set's header: its family, type and, when it was
// created with a timeout, the default timeout attribute.
func (p *ipSet) lookupLocked() error {
	if p.family != 0 {
		return nil
	}
	msgs, err := p.request(_IPSET_CMD_LIST, netlink.Dump, unix.AF_INET, nil)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("firewall: %s: %w: create it (ipset create %s hash:ip timeout 3600)", p.spec, ErrNoSet, p.spec.Name)
		}
		return fmt.Errorf("firewall: %s: look up the set: %w", p.spec, err)
	}
	for _, m := range msgs {
		if len(m.Data) < 4 {
			continue
		}
		h, err := parseIPSetHeader(m.Data[4:])
		if err != nil {
			return fmt.Errorf("firewall: %s: the kernel's answer: %w", p.spec, err)
		}
		if h.typ == "" {
			continue // not the header
		}
		switch {
		case !ipsetAddressTypes[h.typ] || (h.family != _NFPROTO_IPV4 && h.family != _NFPROTO_IPV6):
			return fmt.Errorf("firewall: %s: %w: it is a %s set; a door adds bare addresses, to a hash:ip, hash:net or bitmap:ip set", p.spec, ErrWrongType, h.typ)
		case !h.timeout:
			return fmt.Errorf("firewall: %s: %w: it was created without the timeout option, so an opening would never end: ipset create %s %s timeout 3600",
				p.spec, ErrWrongType, p.spec.Name, h.typ)
		}
		p.family = h.family
		return nil
	}
	return fmt.Errorf("firewall: %s: the kernel listed the set without its header", p.spec)
}

// ipsetAddressTypes are the set types whose elements are a bare address.
var ipsetAddressTypes = map[string]bool{"hash:ip": true, "hash:net": true, "bitmap:ip": true}

type ipsetHeader struct {
	typ     string
	family  uint8
	timeout bool
}

// parseIPSetHeader reads the attributes of a LIST answer.
func parseIPSetHeader(b []byte) (ipsetHeader, error) {
	var h ipsetHeader
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return h, err
	}
	for ad.Next() {
		switch ad.Type() {
		case _IPSET_ATTR_TYPENAME:
			h.typ = ad.String()
		case _IPSET_ATTR_FAMILY:
			h.family = ad.Uint8()
		case _IPSET_ATTR_DATA:
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				for nad.Next() {
					if nad.Type() == _IPSET_ATTR_TIMEOUT {
						h.timeout = true
					}
				}
				return nil
			})
		}
	}
	return h, ad.Err()
}

func (p *ipSet) Add(addr netip.Addr, d time.Duration) (bool, error) {
	if err := checkTimeout(p.spec, d, time.Second, ipsetMaxTimeout); err != nil {
		return false, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.lookupLocked(); err != nil {
		return false, err
	}
	addr = addr.Unmap()
	if addr.Is4() != (p.family == _NFPROTO_IPV4) {
		return false, nil
	}
	ipType, family := uint16(_IPSET_ATTR_IPADDR_IPV4), uint8(unix.AF_INET)
	if addr.Is6() {
		ipType, family = _IPSET_ATTR_IPADDR_IPV6, unix.AF_INET6
	}
	seconds := uint32((d + time.Second - 1) / time.Second)
	_, err := p.request(_IPSET_CMD_ADD, 0, family, func(ae *netlink.AttributeEncoder) {
		ae.Nested(_IPSET_ATTR_DATA, func(data *netlink.AttributeEncoder) error {
			data.Nested(_IPSET_ATTR_IP, func(ip *netlink.AttributeEncoder) error {
				ip.Bytes(ipType|netlink.NetByteOrder, addr.AsSlice())
				return nil
			})
			data.Bytes(_IPSET_ATTR_TIMEOUT|netlink.NetByteOrder, binary.BigEndian.AppendUint32(nil, seconds))
			return nil
		})
	})
	if err != nil {
		p.family = 0
		var errno syscall.Errno
		if errors.As(err, &errno) {
			switch errno {
			case unix.ENOENT:
				return false, fmt.Errorf("firewall: %s: add %s: %w (was it destroyed?)", p.spec, addr, ErrNoSet)
			case _IPSET_ERR_TIMEOUT:
				return false, fmt.Errorf("firewall: %s: add %s: %w: no timeout option", p.spec, addr, ErrWrongType)
			case _IPSET_ERR_IPADDR_IPV4, _IPSET_ERR_IPADDR_IPV6:
				return false, fmt.Errorf("firewall: %s: add %s: %w: the set changed family", p.spec, addr, ErrWrongType)
			}
		}
		return false, fmt.Errorf("firewall: %s: add %s: %w", p.spec, addr, err)
	}
	return true, nil
}
