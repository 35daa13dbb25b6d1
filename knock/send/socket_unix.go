//go:build linux || freebsd

package send

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// knockTCP sends exactly one SYN to addr:port.
//
// The socket is non-blocking, so connect() returns as soon as the SYN has
// been handed to the network (EINPROGRESS), and it has SO_LINGER set to zero,
// so that close() destroys the connection on the spot: in SYN_SENT the kernel
// drops it silently, taking its retransmission timer along (no second SYN a
// second later when a firewall drops the first); if the handshake already
// completed (an open port on loopback) it sends a RST instead of a FIN and
// leaves no TIME_WAIT socket behind.
func knockTCP(addr netip.Addr, port uint16) error {
	sa, family, err := sockaddr(addr, port)
	if err != nil {
		return err
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	if err := unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}); err != nil {
		unix.Close(fd)
		return os.NewSyscallError("setsockopt SO_LINGER", err)
	}
	err = unix.Connect(fd, sa)
	switch {
	case err == nil, errors.Is(err, unix.EINPROGRESS):
		// The SYN is on its way (or, on loopback, already answered).
	case errors.Is(err, unix.ECONNREFUSED):
		// The SYN went out and a RST came back before connect returned.
	default:
		unix.Close(fd)
		return os.NewSyscallError("connect", err)
	}
	if err := unix.Close(fd); err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}

// knockUDP sends one datagram with a 1-byte payload (a zero byte, as
// knockd's client sends) to addr:port.
func knockUDP(addr netip.Addr, port uint16) error {
	sa, family, err := sockaddr(addr, port)
	if err != nil {
		return err
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	if err := unix.Sendto(fd, []byte{0}, 0, sa); err != nil {
		return os.NewSyscallError("sendto", err)
	}
	return nil
}

// sockaddr converts addr:port for the socket calls, resolving an IPv6 zone
// ("fe80::1%eth0" or "fe80::1%2") to its interface index.
func sockaddr(addr netip.Addr, port uint16) (unix.Sockaddr, int, error) {
	if addr.Is4() {
		return &unix.SockaddrInet4{Port: int(port), Addr: addr.As4()}, unix.AF_INET, nil
	}
	if !addr.Is6() {
		return nil, 0, errors.New("no address to knock on")
	}
	sa := &unix.SockaddrInet6{Port: int(port), Addr: addr.As16()}
	if zone := addr.Zone(); zone != "" {
		if index, err := strconv.ParseUint(zone, 10, 32); err == nil {
			sa.ZoneId = uint32(index)
		} else {
			ifi, err := net.InterfaceByName(zone)
			if err != nil {
				return nil, 0, fmt.Errorf("zone %q of %v is not a network interface here: %w", zone, addr, err)
			}
			sa.ZoneId = uint32(ifi.Index)
		}
	}
	return sa, unix.AF_INET6, nil
}
