package send

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/clock/clocktest"
	"github.com/knockbeep/knockbeep/knock"
)

var parsePortTests = []struct {
	name    string
	in      string
	proto   knock.Proto
	want    Target
	wantErr string // a substring of the error; "" means no error
}{
	{name: "number", in: "22", proto: knock.TCP, want: Target{22, knock.TCP}},
	{name: "number with default udp", in: "7000", proto: knock.UDP, want: Target{7000, knock.UDP}},
	{name: "udp suffix", in: "7000:udp", proto: knock.TCP, want: Target{7000, knock.UDP}},
	{name: "tcp suffix overrides default udp", in: "7000:tcp", proto: knock.UDP, want: Target{7000, knock.TCP}},
	{name: "suffix in capitals", in: "7000:UDP", proto: knock.TCP, want: Target{7000, knock.UDP}},
	{name: "lowest port", in: "1", proto: knock.TCP, want: Target{1, knock.TCP}},
	{name: "highest port", in: "65535", proto: knock.TCP, want: Target{65535, knock.TCP}},
	{name: "leading zeros", in: "0022", proto: knock.TCP, want: Target{22, knock.TCP}},
	{name: "service name", in: "ssh", proto: knock.TCP, want: Target{22, knock.TCP}},
	{name: "service name with suffix", in: "http:tcp", proto: knock.UDP, want: Target{80, knock.TCP}},
	{name: "port zero", in: "0", proto: knock.TCP, wantErr: "outside 1-65535"},
	{name: "port too big", in: "65536", proto: knock.TCP, wantErr: "outside 1-65535"},
	{name: "port far too big", in: "99999999999999999999", proto: knock.TCP, wantErr: "outside 1-65535"},
	{name: "negative port", in: "-5", proto: knock.TCP, wantErr: "outside 1-65535"},
	{name: "unknown suffix", in: "7000:icmp", proto: knock.TCP, wantErr: `unknown protocol "icmp"`},
	{name: "empty suffix", in: "7000:", proto: knock.TCP, wantErr: `unknown protocol ""`},
	{name: "two suffixes", in: "7000:udp:tcp", proto: knock.TCP, wantErr: `unknown protocol "udp:tcp"`},
	{name: "empty", in: "", proto: knock.TCP, wantErr: "missing port"},
	{name: "only a suffix", in: ":udp", proto: knock.TCP, wantErr: "missing port"},
	{name: "unknown service", in: "no-such-service-here", proto: knock.TCP, wantErr: `unknown tcp service "no-such-service-here"`},
	{name: "bad default protocol", in: "22", proto: knock.Proto(1), wantErr: "neither tcp nor udp"},
}

func TestParsePort(t *testing.T) {
	for _, tt := range parsePortTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePort(tt.in, tt.proto)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePort(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "send: ") {
					t.Errorf("error %q lacks the package prefix", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePort(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParsePort(%q) (-want +got):\n-%v\n+%v", tt.in, tt.want, got)
			}
		})
	}
}

func FuzzParsePort(f *testing.F) {
	for _, tt := range parsePortTests {
		f.Add(tt.in, uint8(tt.proto))
	}
	f.Fuzz(func(t *testing.T, in string, proto uint8) {
		got, err := ParsePort(in, knock.Proto(proto))
		if err != nil {
			return
		}
		if got.Port == 0 || (got.Proto != knock.TCP && got.Proto != knock.UDP) {
			t.Fatalf("ParsePort(%q) = %+v: port 0 or unknown protocol accepted", in, got)
		}
		again, err := ParsePort(got.String(), knock.TCP)
		if err != nil || again != got {
			t.Fatalf("ParsePort(%q) = %v, but its String %q parses to %v, %v", in, got, got.String(), again, err)
		}
	})
}

func TestResolve(t *testing.T) {
	loopbackIndex := ""
	if ifs, err := net.Interfaces(); err == nil {
		for _, ifi := range ifs {
			if ifi.Flags&net.FlagLoopback != 0 {
				loopbackIndex = ifi.Name
			}
		}
	}
	tests := []struct {
		name    string
		host    string
		network string
		want    string
		wantErr string
	}{
		{name: "ipv4 literal", host: "192.0.2.7", want: "192.0.2.7"},
		{name: "ipv6 literal", host: "2001:db8::7", want: "2001:db8::7"},
		{name: "ipv6 literal in brackets", host: "[2001:db8::7]", want: "2001:db8::7"},
		{name: "ipv4-mapped literal knocks over ipv4", host: "::ffff:192.0.2.7", want: "192.0.2.7"},
		{name: "ipv4-mapped literal with -4", host: "::ffff:192.0.2.7", network: "ip4", want: "192.0.2.7"},
		{name: "ipv4 literal with -4", host: "192.0.2.7", network: "ip4", want: "192.0.2.7"},
		{name: "ipv6 literal with -6", host: "::1", network: "ip6", want: "::1"},
		{name: "ipv6 literal with -4", host: "::1", network: "ip4", wantErr: "not an IPv4 address"},
		{name: "ipv4 literal with -6", host: "127.0.0.1", network: "ip6", wantErr: "not an IPv6 address"},
		{name: "name, any family", host: "localhost", wantErr: ""},
		{name: "name with -4", host: "localhost", network: "ip4", want: "127.0.0.1"},
		{name: "invalid name", host: "bad..name", wantErr: `cannot resolve host "bad..name"`},
		{name: "empty host", host: "", wantErr: "empty host name"},
		{name: "unknown network", host: "127.0.0.1", network: "tcp", wantErr: `unknown network "tcp"`},
		{name: "zone that is no interface", host: "fe80::1%nosuchif", wantErr: `zone "nosuchif" is not a network interface here`},
		{name: "numeric zone", host: "fe80::1%1", want: "fe80::1%1"},
	}
	if loopbackIndex != "" {
		tests = append(tests, struct {
			name    string
			host    string
			network string
			want    string
			wantErr string
		}{name: "link-local with zone", host: "fe80::1%" + loopbackIndex, want: "fe80::1%" + loopbackIndex})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(context.Background(), tt.host, tt.network)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Resolve(%q, %q) = %v, %v; want an error containing %q", tt.host, tt.network, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q, %q): %v", tt.host, tt.network, err)
			}
			if tt.want == "" {
				if !got.IsLoopback() {
					t.Errorf("Resolve(%q) = %v, want a loopback address", tt.host, got)
				}
				return
			}
			if got.String() != tt.want {
				t.Errorf("Resolve(%q, %q) (-want +got):\n-%s\n+%s", tt.host, tt.network, tt.want, got)
			}
		})
	}
}

// pacingClock is a fake clock that records every wait: the time from
// the moment a sleep starts to its deadline.
func pacingClock(start time.Time) (*clocktest.Fake, *[]time.Duration) {
	c := clocktest.NewFake(start)
	var sleeps []time.Duration
	c.OnSleep = func(until time.Time) { sleeps = append(sleeps, until.Sub(c.Now())) }
	return c, &sleeps
}

// udpListener receives UDP knocks on loopback, no privileges needed.
func udpListener(t *testing.T) (*net.UDPConn, Target) {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, Target{Port: uint16(conn.LocalAddr().(*net.UDPAddr).Port), Proto: knock.UDP}
}

func TestUDPKnockCarriesOneZeroByte(t *testing.T) {
	conn, target := udpListener(t)
	s := NewSender(netip.MustParseAddr("127.0.0.1"), Options{})
	if err := s.Knock(context.Background(), target); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	n, _, err := conn.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("no datagram arrived: %v", err)
	}
	if got := buf[:n]; string(got) != "\x00" {
		t.Errorf("payload (-want +got):\n-%q\n+%q", "\x00", got)
	}
}

func TestSenderPacesFromThePreviousKnock(t *testing.T) {
	tests := []struct {
		name       string
		delay      time.Duration
		between    time.Duration // time that passes between two Knock calls
		wantSleeps []time.Duration
	}{
		{name: "no delay never sleeps", delay: 0, between: 0, wantSleeps: nil},
		{name: "delay waited in full", delay: 5 * time.Millisecond, between: 0,
			wantSleeps: []time.Duration{5 * time.Millisecond, 5 * time.Millisecond}},
		{name: "time already passed is not waited again", delay: 5 * time.Millisecond, between: 2 * time.Millisecond,
			wantSleeps: []time.Duration{3 * time.Millisecond, 3 * time.Millisecond}},
		{name: "late caller sends at once", delay: 5 * time.Millisecond, between: 7 * time.Millisecond,
			wantSleeps: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, target := udpListener(t)
			clock, sleeps := pacingClock(time.Unix(1000, 0))
			s := NewSender(netip.MustParseAddr("127.0.0.1"), Options{Delay: tt.delay, Clock: clock})
			for i := range 3 {
				if i > 0 {
					clock.Advance(tt.between)
				}
				if err := s.Knock(context.Background(), target); err != nil {
					t.Fatal(err)
				}
			}
			if !slices.Equal(*sleeps, tt.wantSleeps) {
				t.Errorf("sleeps (-want +got):\n-%v\n+%v", tt.wantSleeps, *sleeps)
			}
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			for i := range 3 {
				if _, _, err := conn.ReadFromUDP(make([]byte, 8)); err != nil {
					t.Fatalf("knock %d did not arrive: %v", i+1, err)
				}
			}
		})
	}
}

func TestKnockAfterCancelSendsNothing(t *testing.T) {
	conn, target := udpListener(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := NewSender(netip.MustParseAddr("127.0.0.1"), Options{})
	if err := s.Knock(ctx, target); !errors.Is(err, context.Canceled) {
		t.Fatalf("Knock on a cancelled context = %v, want context.Canceled", err)
	}
	conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, _, err := conn.ReadFromUDP(make([]byte, 8)); err == nil {
		t.Errorf("a %d-byte datagram arrived after a cancelled knock", n)
	}
}

func TestKnockRejectsUnknownProtocol(t *testing.T) {
	s := NewSender(netip.MustParseAddr("127.0.0.1"), Options{})
	err := s.Knock(context.Background(), Target{Port: 22, Proto: knock.Proto(1)})
	if err == nil || !strings.Contains(err.Error(), "neither tcp nor udp") {
		t.Errorf("Knock with protocol 1 = %v, want an error saying it is neither tcp nor udp", err)
	}
}

// On a system knock does not support, the error names the system, carries
// the package prefix once, and matches errors.ErrUnsupported.
func TestNotSupportedError(t *testing.T) {
	var err error = notSupportedError{}
	want := "send: knocking is not supported on " + runtime.GOOS + " (only linux and freebsd)"
	if err.Error() != want || !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("(-want +got):\n-%q, matching errors.ErrUnsupported\n+%q, matching it: %v", want, err.Error(), errors.Is(err, errors.ErrUnsupported))
	}
}
