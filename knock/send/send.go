package send

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/knockbeep/knockbeep/clock"
	"github.com/knockbeep/knockbeep/knock"
)

// A Target is where one knock goes on the host: a port and a protocol.
type Target struct {
	Port  uint16
	Proto knock.Proto
}

// String returns t in the syntax ParsePort reads, "7000:udp".
func (t Target) String() string {
	return strconv.Itoa(int(t.Port)) + ":" + t.Proto.String()
}

// ParsePort reads one port argument of knockd's client: a number or a service
// name, optionally followed by ":tcp" or ":udp"; without a suffix the knock
// uses defaultProto. Service names are looked up for the knock's protocol
// (/etc/services, or Go's built-in table when that file is missing).
//
// Unlike knockd's client, which knocks on TCP for any suffix it does not
// know and wraps numbers above 65535, an unknown suffix and a port outside
// 1–65535 are errors.
func ParsePort(s string, defaultProto knock.Proto) (Target, error) {
	if defaultProto != knock.TCP && defaultProto != knock.UDP {
		return Target{}, fmt.Errorf("send: port %q: default protocol %v is neither tcp nor udp", s, defaultProto)
	}
	name, suffix, hasSuffix := strings.Cut(s, ":")
	proto := defaultProto
	if hasSuffix {
		switch strings.ToLower(suffix) {
		case "tcp":
			proto = knock.TCP
		case "udp":
			proto = knock.UDP
		default:
			return Target{}, fmt.Errorf("send: port %q: unknown protocol %q (want tcp or udp)", s, suffix)
		}
	}
	if name == "" {
		return Target{}, fmt.Errorf("send: port %q: missing port number or service name", s)
	}
	if isInteger(name) {
		n, err := strconv.ParseInt(name, 10, 32)
		if err != nil || n < 1 || n > 65535 {
			return Target{}, fmt.Errorf("send: port %q: %s is outside 1-65535", s, name)
		}
		return Target{Port: uint16(n), Proto: proto}, nil
	}
	port, err := net.LookupPort(proto.String(), name)
	if err != nil {
		return Target{}, fmt.Errorf("send: port %q: unknown %v service %q (use a number, or a name from /etc/services)", s, proto, name)
	}
	if port < 1 || port > 65535 {
		return Target{}, fmt.Errorf("send: port %q: service %q maps to port %d, outside 1-65535", s, name, port)
	}
	return Target{Port: uint16(port), Proto: proto}, nil
}

// isInteger reports whether s is an optionally signed run of decimal digits,
// so that "-5" and "99999999999" are reported as out of range rather than as
// unknown service names.
func isInteger(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Resolve turns host into the one address the knocks go to: an IPv4 or IPv6
// literal (an IPv6 literal may carry a zone, "fe80::1%eth0", and may be
// written in brackets), or a name looked up with the system's resolver, of
// which the first (preferred) address is used, as knockd's client does.
// network is "" or "ip" for any family, "ip4" or "ip6" to insist on one
// (knock's -4 and -6). IPv4-mapped IPv6 addresses are knocked over IPv4.
func Resolve(ctx context.Context, host string, network string) (netip.Addr, error) {
	switch network {
	case "":
		network = "ip"
	case "ip", "ip4", "ip6":
	default:
		return netip.Addr{}, fmt.Errorf("send: resolve %q: unknown network %q (want ip, ip4 or ip6)", host, network)
	}
	if host == "" {
		return netip.Addr{}, errors.New("send: resolve: empty host name")
	}
	literal := host
	if strings.HasPrefix(literal, "[") && strings.HasSuffix(literal, "]") {
		literal = literal[1 : len(literal)-1]
	}
	if addr, err := netip.ParseAddr(literal); err == nil {
		addr = addr.Unmap()
		if !fitsNetwork(addr, network) {
			return netip.Addr{}, fmt.Errorf("send: host %s is not an %s address", host, familyName(network))
		}
		// A zone names the interface to knock through: one this host does
		// not have is a bad host, found before any knock is sent.
		if zone := addr.Zone(); zone != "" {
			if _, err := strconv.ParseUint(zone, 10, 32); err != nil {
				if _, err := net.InterfaceByName(zone); err != nil {
					return netip.Addr{}, fmt.Errorf("send: host %s: zone %q is not a network interface here", host, zone)
				}
			}
		}
		return addr, nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, network, host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("send: cannot resolve host %q: %w", host, err)
	}
	for _, addr := range addrs {
		addr = addr.Unmap()
		if fitsNetwork(addr, network) {
			return addr, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("send: host %q has no %s address", host, familyName(network))
}

// SourceFor returns the address this host sends from to reach dst: the
// source the kernel's routing picks for it, found by connecting a UDP
// socket, which sends nothing. A door bound to the knocker's address
// derives its sequence for the source the server sees, which this is
// unless a NAT lies between.
func SourceFor(dst netip.Addr) (netip.Addr, error) {
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, 9)))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("send: no route to %v to find this host's address: %w", dst, err)
	}
	defer conn.Close()
	return conn.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap().WithZone(""), nil
}

func fitsNetwork(addr netip.Addr, network string) bool {
	switch network {
	case "ip4":
		return addr.Is4()
	case "ip6":
		return addr.Is6()
	}
	return addr.IsValid()
}

func familyName(network string) string {
	switch network {
	case "ip4":
		return "IPv4"
	case "ip6":
		return "IPv6"
	}
	return "IP"
}

// Options tune a Sender.
type Options struct {
	// Delay is the pause between one knock and the next, measured from
	// the moment the previous knock was sent (knock's -d). The first knock
	// goes at once and nothing waits after the last one.
	Delay time.Duration
	// Clock paces the knocks; nil means clock.System(), whose waits
	// under 2 ms sleep the thread, so that -d 0.1 means 0.1 ms.
	Clock clock.Clock
}

// A Sender knocks on one address. It is not safe for concurrent use: knocks
// are a sequence, and their order is the point.
type Sender struct {
	addr  netip.Addr
	delay time.Duration
	clock clock.Clock
	last  time.Time // when the previous knock was sent; zero before the first
}

// NewSender returns a Sender that knocks on addr. An IPv4-mapped IPv6 addr
// is knocked over IPv4.
func NewSender(addr netip.Addr, opts Options) *Sender {
	clk := opts.Clock
	if clk == nil {
		clk = clock.System()
	}
	return &Sender{addr: addr.Unmap(), delay: opts.Delay, clock: clk}
}

// Addr is the address the Sender knocks on.
func (s *Sender) Addr() netip.Addr { return s.addr }

// Knock waits until Options.Delay has passed since the previous knock, then
// sends one knock to t: exactly one TCP SYN, or one UDP datagram with a
// 1-byte payload. It returns ctx's error if ctx ends first, and nothing is
// sent then. An error from the system (no route, permission denied by a
// firewall or a sandbox) wraps the system's error number, so
// errors.Is(err, os.ErrPermission) tells a refusal apart.
func (s *Sender) Knock(ctx context.Context, t Target) error {
	if !s.last.IsZero() && s.delay > 0 {
		if next := s.last.Add(s.delay); next.After(s.clock.Now()) {
			if err := s.clock.SleepUntil(ctx, next); err != nil {
				return err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var err error
	switch t.Proto {
	case knock.TCP:
		err = knockTCP(s.addr, t.Port)
	case knock.UDP:
		err = knockUDP(s.addr, t.Port)
	default:
		return fmt.Errorf("send: knock %v on %v: protocol is neither tcp nor udp", t, s.addr)
	}
	s.last = s.clock.Now()
	var unsupported notSupportedError
	switch {
	case errors.As(err, &unsupported):
		return err // about this system, not about the knock
	case err != nil:
		return fmt.Errorf("send: %v knock on %v: %w", t.Proto, netip.AddrPortFrom(s.addr, t.Port), err)
	}
	return nil
}

// notSupportedError is what knocking returns on a system other than Linux
// and FreeBSD (socket_others.go). It matches errors.ErrUnsupported.
type notSupportedError struct{}

func (notSupportedError) Error() string {
	return "send: knocking is not supported on " + runtime.GOOS + " (only linux and freebsd)"
}

func (notSupportedError) Is(target error) bool { return target == errors.ErrUnsupported }
