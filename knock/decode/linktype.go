package decode

import "strconv"

// A LinkType says what header precedes the IP header in a captured frame.
// The values are the LINKTYPE_ numbers of pcap files, so a pcap reader's
// link type converts directly; Supported tells whether Decode handles it.
type LinkType uint32

const (
	// LinkNull is BSD loopback (DLT_NULL): a 4-byte address family in the
	// byte order of the capturing host. FreeBSD's lo0, tun and wg use it.
	LinkNull LinkType = 0
	// LinkEthernet is Ethernet II, with up to two 802.1Q/802.1ad VLAN tags.
	// Linux's lo is Ethernet with all-zero addresses.
	LinkEthernet LinkType = 1
	// LinkRaw is a bare IPv4 or IPv6 header, told apart by its version.
	// Linux live capture uses it: the socket strips every link header.
	LinkRaw LinkType = 101
	// LinkLoop is OpenBSD loopback (DLT_LOOP): the family in network byte
	// order.
	LinkLoop LinkType = 108
	// LinkLinuxSLL is Linux "cooked" capture v1, what tcpdump -i any wrote
	// before libpcap 1.10.
	LinkLinuxSLL LinkType = 113
	// LinkLinuxSLL2 is Linux "cooked" capture v2, what tcpdump -i any
	// writes today.
	LinkLinuxSLL2 LinkType = 276
)

// LinkTypes lists every supported link type, for tests and fuzzing.
var LinkTypes = []LinkType{LinkNull, LinkEthernet, LinkRaw, LinkLoop, LinkLinuxSLL, LinkLinuxSLL2}

// Supported reports whether Decode and the capture filter handle l.
func (l LinkType) Supported() bool {
	switch l {
	case LinkNull, LinkEthernet, LinkRaw, LinkLoop, LinkLinuxSLL, LinkLinuxSLL2:
		return true
	}
	return false
}

func (l LinkType) String() string {
	switch l {
	case LinkNull:
		return "null"
	case LinkEthernet:
		return "ethernet"
	case LinkRaw:
		return "raw"
	case LinkLoop:
		return "loop"
	case LinkLinuxSLL:
		return "linux-sll"
	case LinkLinuxSLL2:
		return "linux-sll2"
	}
	return "linktype(" + strconv.FormatUint(uint64(l), 10) + ")"
}
