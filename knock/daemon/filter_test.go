package daemon

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/bpf"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/capture"
	"github.com/knockbeep/knockbeep/knock/decode"
)

// Each config is turned into the kernel filter it needs, and the filter
// is run in x/net/bpf's VM (the kernel's classic BPF semantics) on frames
// built with gopacket: the packets that may be knocks pass, the rest is
// dropped before it costs anything.
func TestFilterFor(t *testing.T) {
	local := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("::1")}
	const me, other, me6 = "192.0.2.1", "192.0.2.99", "::1"
	const src, src6 = "198.51.100.7", "2001:db8::7"
	tests := []struct {
		name     string
		config   string
		onlyIPv4 bool
		wantDst  []string
		pass     []packet
		drop     []packet
	}{
		{
			name:    "defaults: the music ports, SYN without ACK or UDP, to this host",
			config:  `speaker = "none"`,
			wantDst: []string{"127.0.0.1", "192.0.2.1", "::1"},
			pass: []packet{
				syn(0, src, me, 1000), syn(0, src, me, 1001), syn(0, src, me, 1002), syn(0, src, me, 1003),
				syn(0, src, me, 2000), syn(0, src, me, 2127), syn(0, src6, me6, 2060),
				udp(0, src, me, 1000),
			},
			drop: []packet{
				tcp(0, src, me, 1000, knock.SYN|knock.ACK), tcp(0, src, me, 1000, knock.ACK),
				tcp(0, src, me, 1003, knock.SYN|knock.ACK), syn(0, src, me, 1004), syn(0, src, me, 2128), syn(0, src, me, 999),
				syn(0, src, other, 1000), syn(0, src, me, 22),
			},
		},
		{
			name: "a door's steps with its flags; music off frees the music ports",
			config: `
[music]
enabled = false
[[door]]
name = "ssh"
sequence = ["7000", "8000:udp", "1000"]
tcpflags = "syn,!ack"
`,
			wantDst: []string{"127.0.0.1", "192.0.2.1", "::1"},
			pass:    []packet{syn(0, src, me, 7000), udp(0, src, me, 8000), syn(0, src, me, 1000), syn(0, src6, me6, 7000)},
			drop: []packet{
				tcp(0, src, me, 7000, knock.SYN|knock.ACK), syn(0, src, me, 8000), udp(0, src, me, 7000),
				syn(0, src, me, 1001), syn(0, src, me, 2000), syn(0, src, other, 7000),
			},
		},
		{
			name: "without tcpflags any TCP packet counts, as in knockd",
			config: `
[music]
enabled = false
[[door]]
name = "any-flags"
sequence = "5000"
`,
			wantDst: []string{"127.0.0.1", "192.0.2.1", "::1"},
			pass:    []packet{syn(0, src, me, 5000), tcp(0, src, me, 5000, knock.ACK), tcp(0, src, me, 5000, knock.FIN|knock.ACK)},
			drop:    []packet{udp(0, src, me, 5000)},
		},
		{
			name: "doors with targets only: those destinations, not this host",
			config: `
[music]
enabled = false
[[door]]
name = "gateway"
sequence = ["7000"]
target = ["192.0.2.99", "2001:db8::99"]
`,
			wantDst: []string{"192.0.2.99", "2001:db8::99"},
			pass:    []packet{syn(0, src, other, 7000), syn(0, src6, "2001:db8::99", 7000)},
			drop:    []packet{syn(0, src, me, 7000), syn(0, src6, me6, 7000)},
		},
		{
			name: "a door with a target beside music: both",
			config: `
[music]
[[door]]
name = "gateway"
sequence = ["7000"]
target = ["192.0.2.99"]
`,
			wantDst: []string{"127.0.0.1", "192.0.2.1", "192.0.2.99", "::1"},
			pass:    []packet{syn(0, src, other, 7000), syn(0, src, me, 7000), syn(0, src, me, 1000)},
		},
		{
			name:     "-4 leaves IPv6 out",
			config:   `speaker = "none"`,
			onlyIPv4: true,
			wantDst:  []string{"127.0.0.1", "192.0.2.1"},
			pass:     []packet{syn(0, src, me, 1000)},
			drop:     []packet{syn(0, src6, me6, 1000)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := testConfig(t, t.TempDir(), tt.config)
			f := FilterFor(cfg, cfg.Doors, local, tt.onlyIPv4)
			var gotDst []string
			for _, a := range f.Dst {
				gotDst = append(gotDst, a.String())
			}
			if !slices.Equal(gotDst, tt.wantDst) {
				t.Errorf("destinations (-want +got):\n-%v\n+%v", tt.wantDst, gotDst)
			}
			raw, err := capture.CompileFilter(f, decode.LinkRaw)
			if err != nil {
				t.Fatal(err)
			}
			vm, err := bpf.NewVM(disassemble(t, raw))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tt.pass {
				if n, err := vm.Run(frame(t, p)); err != nil || n == 0 {
					t.Errorf("%s dropped (err %v), want it passed", describe(p), err)
				}
			}
			for _, p := range tt.drop {
				if n, err := vm.Run(frame(t, p)); err != nil || n != 0 {
					t.Errorf("%s passed (err %v), want it dropped", describe(p), err)
				}
			}
		})
	}
}

// A one-time door whose file is used up has no sequence: it adds nothing
// to the filter, and with nothing left at all the filter passes nothing.
func TestFilterForClosedDoor(t *testing.T) {
	cfg, _ := testConfig(t, t.TempDir(), `
[music]
enabled = false
[[door]]
name = "open"
sequence = ["7000"]
`)
	doors := slices.Clone(cfg.Doors)
	doors[0].Sequence = nil
	f := FilterFor(cfg, doors, []netip.Addr{netip.MustParseAddr("192.0.2.1")}, false)
	if len(f.Rules) != 0 {
		t.Errorf("rules %v, want none", f.Rules)
	}
	desc, err := DescribeFilter(f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(desc, "passes nothing") {
		t.Errorf("description starts %q, want it to say the filter passes nothing", strings.SplitN(desc, "\n", 2)[0])
	}
}

func TestDescribeFilter(t *testing.T) {
	cfg, _ := testConfig(t, t.TempDir(), `
[music]
[[door]]
name = "ssh"
sequence = ["7000", "8000:udp", "7001"]
tcpflags = "syn,!ack,!rst"
`)
	desc, err := DescribeFilter(FilterFor(cfg, cfg.Doors, []netip.Addr{netip.MustParseAddr("192.0.2.1")}, false))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"tcp to port 7000-7001, flags syn,!rst,!ack\n",
		"udp to port 1000-1003,2000-2127,8000,32768-65535\n",
		"tcp to port 1000-1003,2000-2127,32768-65535, flags syn,!ack\n",
		"to 192.0.2.1\n",
		"BPF program for raw IP frames",
		"ret #1024\n",
	} {
		if !strings.Contains(desc, want) {
			t.Errorf("the description lacks %q:\n%s", want, desc)
		}
	}
}

func disassemble(t *testing.T, raw []bpf.RawInstruction) []bpf.Instruction {
	t.Helper()
	insts, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("the filter has instructions x/net/bpf cannot decode")
	}
	return insts
}

func describe(p packet) string {
	s := p.proto.String() + " " + p.src.String() + " → " + p.dst.String() + ":" + strconv.Itoa(int(p.port))
	if p.proto == knock.TCP {
		s += " flags " + flagText(knock.FlagMatch{Set: p.flags})
	}
	return s
}
