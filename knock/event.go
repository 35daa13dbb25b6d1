package knock

import (
	"net/netip"
	"strconv"
	"time"
)

// Proto is a transport protocol, numbered as in the IP header.
type Proto uint8

// The protocols a knock can use: IANA's protocol numbers, which are what
// the IPv4 protocol field and the IPv6 next header hold.
const (
	TCP Proto = 6  // a knock is a TCP segment, usually a SYN
	UDP Proto = 17 // a knock is a UDP datagram, whatever its payload
)

// String is the protocol's name as knockd writes it ("tcp", "udp"), or
// "proto(N)" for any other number.
func (p Proto) String() string {
	switch p {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	}
	return "proto(" + strconv.Itoa(int(p)) + ")"
}

// TCPFlags is the flags byte of a TCP header (the low six bits).
type TCPFlags uint8

// The TCP flags, with their bits in the header's flags byte (RFC 9293),
// as knockd's tcpflags names them.
const (
	FIN TCPFlags = 1 << iota // no more data from the sender: closes a connection
	SYN                      // synchronise sequence numbers: opens a connection, a knock's usual flag
	RST                      // reset the connection
	PSH                      // push the data to the application now
	ACK                      // the acknowledgment field is valid: set on every segment after the first
	URG                      // the urgent pointer field is valid
)

// An Event is one decoded packet that may be a knock: who sent it, to which
// address and port, and with which TCP flags (zero for UDP).
type Event struct {
	Time  time.Time
	Src   netip.Addr
	Dst   netip.Addr
	Proto Proto
	Port  uint16 // destination port
	Flags TCPFlags
	// SrcPort is the source port: where a reply to the knock goes.
	SrcPort uint16
}

// IsKnock reports whether ev is a knock as the music ports take one: from
// a valid address, a TCP SYN without ACK (a connection's first packet,
// never a reply) or any UDP datagram.
func (ev *Event) IsKnock() bool {
	if !ev.Src.IsValid() {
		return false
	}
	switch ev.Proto {
	case TCP:
		return ev.Flags&(SYN|ACK) == SYN
	case UDP:
		return true
	}
	return false
}
