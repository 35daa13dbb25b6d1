package client_test

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/client"
	"github.com/knockbeep/knockbeep/knock/send/sendtest"
	"github.com/knockbeep/knockbeep/sequence"
)

const imperialMarch = "../../songs/imperial-march.beep"

type result struct {
	status         int
	stdout, stderr string
}

// knockIn runs the knock command inside ns, with a tap on ifname opened
// first, and returns what it printed and the tap.
func knockIn(t *testing.T, ns *sendtest.Netns, ifname string, args ...string) (result, *sendtest.Tap) {
	t.Helper()
	var tap *sendtest.Tap
	if err := ns.Do(func() (err error) { tap, err = sendtest.Listen(ifname); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tap.Close() })
	return knockWith(t, ns, args...), tap
}

// knockWith runs the knock command inside ns.
func knockWith(t *testing.T, ns *sendtest.Netns, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	var status int
	if err := ns.Do(func() error {
		status = client.Run(context.Background(), args, &stdout, &stderr)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return result{status, stdout.String(), stderr.String()}
}

// arrived keeps the packets as the receiving side sees them (on loopback
// each packet is seen leaving and arriving), knocks only: SYNs without ACK
// and UDP datagrams.
func arrived(p sendtest.Packet) bool {
	return !p.Outgoing && (p.Proto == knock.UDP || p.Flags&(knock.SYN|knock.ACK) == knock.SYN)
}

func TestSongArrivesCompleteAndInOrder(t *testing.T) {
	song, err := sequence.ReadSongFile(imperialMarch)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		host   string
		across bool // knock from another namespace over a veth pair
		args   []string
		opts   sequence.ComposeOptions
		proto  knock.Proto // of every knock: TCP unless -u
	}{
		{name: "with its tune over ipv4 loopback", host: "127.0.0.1", proto: knock.TCP},
		{name: "with its tune over ipv6 loopback", host: "::1", proto: knock.TCP},
		{name: "the original monotone protocol", host: "127.0.0.1", args: []string{"--no-pitch"}, opts: sequence.ComposeOptions{NoPitch: true}, proto: knock.TCP},
		{name: "with its tune across a link", host: "10.78.0.2", across: true, proto: knock.TCP},
		{name: "udp over ipv4 loopback", host: "127.0.0.1", args: []string{"-u"}, proto: knock.UDP},
		{name: "udp over ipv6 loopback", host: "::1", args: []string{"--udp"}, proto: knock.UDP},
		{name: "udp across a link", host: "10.78.0.2", across: true, args: []string{"-u"}, proto: knock.UDP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			plan, err := sequence.Compose(song.Tones, sequence.DefaultProtocol(), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var want []uint16
			for _, k := range plan.Knocks {
				want = append(want, k.Port(plan.Protocol))
			}
			args := append([]string{"--song", imperialMarch, tt.host}, tt.args...)
			var got result
			var tap *sendtest.Tap
			if tt.across {
				knocker, host := sendtest.NewNetns(t), sendtest.NewNetns(t)
				knocker.IP("link", "add", "wire", "type", "veth", "peer", "name", "wire", "netns", host.Name())
				knocker.IP("addr", "add", "10.78.0.1/24", "dev", "wire")
				host.IP("addr", "add", "10.78.0.2/24", "dev", "wire")
				knocker.IP("link", "set", "wire", "up")
				host.IP("link", "set", "wire", "up")
				if err := host.Do(func() (err error) { tap, err = sendtest.Listen("wire"); return err }); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { tap.Close() })
				got = knockWith(t, knocker, args...)
			} else {
				got, tap = knockIn(t, sendtest.NewNetns(t), "lo", args...)
			}
			if got.status != client.ExitOK || got.stderr != "" {
				t.Fatalf("status %d, stderr %q", got.status, got.stderr)
			}
			wantSummary := fmt.Sprintf("knocked %q into %s: %d knocks in ", song.Name, tt.host, len(want))
			if !strings.HasPrefix(got.stdout, wantSummary) {
				t.Errorf("summary (-want +got):\n-%s...\n+%s", wantSummary, got.stdout)
			}
			packets := tap.WaitFor(len(want)+1, 2*time.Second, arrived)
			var ports []uint16
			for _, p := range packets {
				if p.Proto != tt.proto || p.Dst != netip.MustParseAddr(tt.host) {
					t.Errorf("knock %+v, want %v to %s", p, tt.proto, tt.host)
				}
				if p.Proto == knock.UDP && p.PayloadLen != 1 {
					t.Errorf("UDP knock to %d carries %d bytes, want 1", p.Port, p.PayloadLen)
				}
				ports = append(ports, p.Port)
			}
			if fmt.Sprint(ports) != fmt.Sprint(want) {
				t.Errorf("ports knocked, in arrival order (-want +got):\n-%v\n+%v", want, ports)
			}
			if drops, err := tap.Close(); drops != 0 || err != nil {
				t.Errorf("the tap lost %d packets (%v): the comparison is void", drops, err)
			}
		})
	}
}

func TestPortKnocksOnTheWire(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStdout string
		want       []string // proto/port of each knock, in order
	}{
		{name: "service names, suffixes, verbose", args: []string{"-v", "127.0.0.1", "ssh", "7000:udp", "7001"},
			wantStdout: "hitting tcp 127.0.0.1:ssh\nhitting udp 127.0.0.1:7000\nhitting tcp 127.0.0.1:7001\n",
			want:       []string{"tcp/22", "udp/7000", "tcp/7001"}},
		{name: "-u with a tcp suffix", args: []string{"-u", "127.0.0.1", "7000", "7001:tcp", "domain"},
			want: []string{"udp/7000", "tcp/7001", "udp/53"}},
		{name: "repeated ports over ipv6", args: []string{"-6", "-d", "5", "::1", "1000", "1000", "1001"},
			want: []string{"tcp/1000", "tcp/1000", "tcp/1001"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, tap := knockIn(t, sendtest.NewNetns(t), "lo", tt.args...)
			if got.status != client.ExitOK || got.stderr != "" || got.stdout != tt.wantStdout {
				t.Fatalf("(-want +got):\n-status 0, stdout %q\n+status %d, stdout %q, stderr %q", tt.wantStdout, got.status, got.stdout, got.stderr)
			}
			var knocks []string
			for _, p := range tap.WaitFor(len(tt.want)+1, time.Second, arrived) {
				knocks = append(knocks, fmt.Sprintf("%v/%d", p.Proto, p.Port))
				if p.Proto == knock.UDP && p.PayloadLen != 1 {
					t.Errorf("UDP knock to %d carries %d bytes, want 1", p.Port, p.PayloadLen)
				}
			}
			if fmt.Sprint(knocks) != fmt.Sprint(tt.want) {
				t.Errorf("knocks (-want +got):\n-%v\n+%v", tt.want, knocks)
			}
		})
	}
}

func TestSendFailures(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStatus int
		wantErr    string
	}{
		{name: "no route to the host", args: []string{"192.0.2.1", "22", "23"}, wantStatus: client.ExitFailure,
			wantErr: "knock: knock 1 of 2: send: tcp knock on 192.0.2.1:22: connect: network is unreachable\n"},
		{name: "no route, song", args: []string{"--song", imperialMarch, "192.0.2.1"}, wantStatus: client.ExitFailure,
			wantErr: "knock: knock 1 of 314: send: tcp knock on 192.0.2.1:2067: connect: network is unreachable\n"},
		{name: "refused by the system", args: []string{"-u", "10.77.0.255", "7000"}, wantStatus: client.ExitPermission,
			wantErr: "knock: knock 1 of 1: send: udp knock on 10.77.0.255:7000: sendto: permission denied\n" +
				"knock: the system refused to send: check the firewall's output rules, or the sandbox or container running knock\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A namespace with loopback and one link, 10.77.0.1/24:
			// no default route, and a broadcast address that a
			// socket may not send to without SO_BROADCAST.
			ns, peer := sendtest.NewNetns(t), sendtest.NewNetns(t)
			ns.IP("link", "add", "wire", "type", "veth", "peer", "name", "wire", "netns", peer.Name())
			ns.IP("addr", "add", "10.77.0.1/24", "brd", "+", "dev", "wire")
			ns.IP("link", "set", "wire", "up")
			got, _ := knockIn(t, ns, "lo", tt.args...)
			if got.status != tt.wantStatus || got.stderr != tt.wantErr || got.stdout != "" {
				t.Errorf("(-want +got):\n-status %d, stderr %q\n+status %d, stderr %q, stdout %q",
					tt.wantStatus, tt.wantErr, got.status, got.stderr, got.stdout)
			}
		})
	}
}
