package knock

import (
	"net/netip"
	"strconv"
	"time"
)

// Proto is a transport protocol, numbered as in the IP header.
type Proto uint8

const (
	TCP Proto = 6
	UDP Proto = 17
)

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

const (
	FIN TCPFlags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
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
}
