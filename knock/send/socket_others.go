//go:build !linux && !freebsd

package send

import "net/netip"

// Knocks need raw control of the socket (non-blocking connect, SO_LINGER 0)
// to guarantee one SYN per knock; rather than send something weaker, other
// systems get an error.

func knockTCP(addr netip.Addr, port uint16) error { return notSupportedError{} }

func knockUDP(addr netip.Addr, port uint16) error { return notSupportedError{} }
