//go:build !linux && !freebsd

package send

import (
	"fmt"
	"net/netip"
	"runtime"
)

// Knocks need raw control of the socket (non-blocking connect, SO_LINGER 0)
// to guarantee one SYN per knock; rather than send something weaker, other
// systems get an error.

func knockTCP(addr netip.Addr, port uint16) error {
	return fmt.Errorf("knocking is not supported on %s (only linux and freebsd)", runtime.GOOS)
}

func knockUDP(addr netip.Addr, port uint16) error {
	return fmt.Errorf("knocking is not supported on %s (only linux and freebsd)", runtime.GOOS)
}
