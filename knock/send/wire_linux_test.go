package send_test

import (
	"context"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/send"
	"github.com/knockbeep/knockbeep/knock/send/sendtest"
)

// watchAfterKnock is how long the wire is watched after a knock: longer than
// Linux's initial SYN retransmission timeout (1 s), so a second SYN from a
// socket left behind would be seen.
const watchAfterKnock = 2500 * time.Millisecond

// The addresses of the two-namespace link: the knocker is .1, a host that
// answers is .2, and .3 is a filtered host: a static neighbour entry sends
// its packets to a MAC address nobody has, so they leave on the wire and
// nothing ever answers, as with a firewall that drops.
var (
	linkKnocker4  = netip.MustParseAddr("10.77.0.1")
	linkHost4     = netip.MustParseAddr("10.77.0.2")
	linkFiltered4 = netip.MustParseAddr("10.77.0.3")
	linkKnocker6  = netip.MustParseAddr("fd77::1")
	linkHost6     = netip.MustParseAddr("fd77::2")
	linkFiltered6 = netip.MustParseAddr("fd77::3")
)

// twoHosts joins a knocker namespace to a host namespace with a veth pair,
// "wire" on the knocker's side.
func twoHosts(t *testing.T) (knocker, host *sendtest.Netns) {
	knocker, host = sendtest.NewNetns(t), sendtest.NewNetns(t)
	knocker.IP("link", "add", "wire", "type", "veth", "peer", "name", "wire", "netns", host.Name())
	for _, side := range []struct {
		ns     *sendtest.Netns
		v4, v6 netip.Addr
	}{{knocker, linkKnocker4, linkKnocker6}, {host, linkHost4, linkHost6}} {
		side.ns.IP("addr", "add", side.v4.String()+"/24", "dev", "wire")
		side.ns.IP("addr", "add", side.v6.String()+"/64", "dev", "wire", "nodad")
		side.ns.IP("link", "set", "wire", "up")
	}
	knocker.IP("neigh", "add", linkFiltered4.String(), "lladdr", "02:00:00:00:00:03", "dev", "wire", "nud", "permanent")
	knocker.IP("neigh", "add", linkFiltered6.String(), "lladdr", "02:00:00:00:00:03", "dev", "wire", "nud", "permanent")
	return knocker, host
}

func TestOneSYNPerTCPKnock(t *testing.T) {
	tests := []struct {
		name      string
		dst       netip.Addr
		ifname    string // where the knocker's tap listens
		listen    bool   // a TCP listener on the port (on the knocker's loopback)
		wantReply knock.TCPFlags
	}{
		{name: "filtered ipv4 host, SYN dropped", dst: linkFiltered4, ifname: "wire"},
		{name: "filtered ipv6 host, SYN dropped", dst: linkFiltered6, ifname: "wire"},
		{name: "closed ipv4 port across a link", dst: linkHost4, ifname: "wire", wantReply: knock.RST | knock.ACK},
		{name: "closed ipv6 port across a link", dst: linkHost6, ifname: "wire", wantReply: knock.RST | knock.ACK},
		{name: "closed ipv4 port on loopback", dst: netip.MustParseAddr("127.0.0.1"), ifname: "lo", wantReply: knock.RST | knock.ACK},
		{name: "closed ipv6 port on loopback", dst: netip.IPv6Loopback(), ifname: "lo", wantReply: knock.RST | knock.ACK},
		{name: "open ipv4 port on loopback", dst: netip.MustParseAddr("127.0.0.1"), ifname: "lo", listen: true, wantReply: knock.SYN | knock.ACK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			knocker, _ := twoHosts(t)
			const port = 7000
			var tap *sendtest.Tap
			err := knocker.Do(func() error {
				if tt.listen {
					ln, err := net.Listen("tcp", netip.AddrPortFrom(tt.dst, port).String())
					if err != nil {
						return err
					}
					t.Cleanup(func() { ln.Close() })
				}
				var err error
				if tap, err = sendtest.Listen(tt.ifname); err != nil {
					return err
				}
				return send.NewSender(tt.dst, send.Options{}).Knock(context.Background(), send.Target{Port: port, Proto: knock.TCP})
			})
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(watchAfterKnock)
			drops, err := tap.Close()
			if err != nil || drops != 0 {
				t.Fatalf("tap: %d packets dropped, %v", drops, err)
			}
			syns := tap.Packets(func(p sendtest.Packet) bool {
				return p.Outgoing && p.Dst == tt.dst && p.Port == port && p.Flags&knock.SYN != 0 && p.Flags&knock.ACK == 0
			})
			if len(syns) != 1 {
				t.Fatalf("SYNs sent to %v:%d in %v (-want +got):\n-1\n+%d: %v", tt.dst, port, watchAfterKnock, len(syns), syns)
			}
			replies := tap.Packets(func(p sendtest.Packet) bool {
				return !p.Outgoing && p.Src == tt.dst && p.SrcPort == port
			})
			var gotReply knock.TCPFlags
			if len(replies) > 0 {
				gotReply = replies[0].Flags
			}
			if gotReply != tt.wantReply {
				t.Errorf("first reply's flags (-want +got):\n-%s\n+%s", flagNames(tt.wantReply), flagNames(gotReply))
			}
			var left []string
			if err := knocker.Do(func() (err error) { left, err = tcpSocketsLeft(); return err }); err != nil {
				t.Fatal(err)
			}
			if len(left) != 0 {
				t.Errorf("TCP sockets left behind by the knock (-want +got):\n-none\n+%q", left)
			}
		})
	}
}

func TestOneDatagramPerUDPKnock(t *testing.T) {
	tests := []struct {
		name   string
		dst    netip.Addr
		ifname string
	}{
		{name: "filtered ipv4 host", dst: linkFiltered4, ifname: "wire"},
		{name: "filtered ipv6 host", dst: linkFiltered6, ifname: "wire"},
		{name: "closed ipv4 port across a link", dst: linkHost4, ifname: "wire"},
		{name: "closed ipv6 port on loopback", dst: netip.IPv6Loopback(), ifname: "lo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			knocker, _ := twoHosts(t)
			const port = 7001
			var tap *sendtest.Tap
			err := knocker.Do(func() error {
				var err error
				if tap, err = sendtest.Listen(tt.ifname); err != nil {
					return err
				}
				return send.NewSender(tt.dst, send.Options{}).Knock(context.Background(), send.Target{Port: port, Proto: knock.UDP})
			})
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(watchAfterKnock)
			if drops, err := tap.Close(); err != nil || drops != 0 {
				t.Fatalf("tap: %d packets dropped, %v", drops, err)
			}
			got := tap.Packets(func(p sendtest.Packet) bool { return p.Outgoing && p.Dst == tt.dst && p.Port == port })
			if len(got) != 1 || got[0].Proto != knock.UDP || got[0].PayloadLen != 1 {
				t.Fatalf("datagrams sent (-want +got):\n-one UDP datagram to %v:%d with a 1-byte payload\n+%+v", tt.dst, port, got)
			}
		})
	}
}

// tcpSocketsLeft lists the TCP sockets of the calling thread's namespace that
// are not listening, as lines of /proc/net/tcp and tcp6 (TIME_WAIT included).
func tcpSocketsLeft() ([]string, error) {
	var left []string
	for _, name := range []string{"tcp", "tcp6"} {
		table, err := os.ReadFile("/proc/thread-self/net/" + name)
		if err != nil {
			return nil, err
		}
		lines := strings.Split(strings.TrimSpace(string(table)), "\n")
		for _, line := range lines[1:] {
			fields := strings.Fields(line)
			if len(fields) > 3 && fields[3] != tcpListen {
				left = append(left, line)
			}
		}
	}
	return left, nil
}

const tcpListen = "0A" // TCP_LISTEN in /proc/net/tcp's st column

func flagNames(f knock.TCPFlags) string {
	if f == 0 {
		return "none"
	}
	s := ""
	for i, name := range []string{"FIN", "SYN", "RST", "PSH", "ACK", "URG"} {
		if f&(1<<i) != 0 {
			if s != "" {
				s += "|"
			}
			s += name
		}
	}
	return s
}
