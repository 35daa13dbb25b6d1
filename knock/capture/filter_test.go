package capture

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/bpf"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/decode"
	"github.com/knockbeep/knockbeep/knock/decode/decodetest"
)

var (
	synOnly = knock.FlagMatch{Set: knock.SYN, Clear: knock.ACK}
	local   = []netip.Addr{
		netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1"),
		netip.MustParseAddr("10.77.0.1"), netip.MustParseAddr("fd77::1"),
	}
	// musicDoors is the default daemon's filter: SYNs to the music ports.
	musicDoors = Filter{
		Rules: []Rule{
			{knock.TCP, 1000, synOnly}, {knock.TCP, 1001, synOnly}, {knock.TCP, 1002, synOnly},
			{knock.UDP, 1001, knock.FlagMatch{}}, {knock.UDP, 1002, knock.FlagMatch{}},
		},
		Dst: local,
	}
)

func init() {
	for n := uint16(0); n < 128; n++ {
		musicDoors.Rules = append(musicDoors.Rules, Rule{knock.TCP, 2000 + n, synOnly})
	}
}

// vm compiles f for link and returns the x/net/bpf VM running it.
func vm(t testing.TB, f Filter, link decode.LinkType) *bpf.VM {
	t.Helper()
	raw, err := CompileFilter(f, link)
	if err != nil {
		t.Fatalf("CompileFilter() error: %v", err)
	}
	ins, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatalf("CompileFilter() produced instructions that do not disassemble")
	}
	v, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatalf("bpf.NewVM() error: %v", err)
	}
	return v
}

func passes(t testing.TB, v *bpf.VM, data []byte) bool {
	t.Helper()
	n, err := v.Run(data)
	if err != nil {
		t.Fatalf("VM.Run() error: %v", err)
	}
	return n > 0
}

func frameNamed(t testing.TB, name string) decodetest.Frame {
	t.Helper()
	for _, f := range decodetest.Frames {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no frame %q in decodetest.Frames", name)
	return decodetest.Frame{}
}

func TestCompileFilter(t *testing.T) {
	only := func(rules ...Rule) Filter { return Filter{Rules: rules} }
	tcp := func(port uint16, m knock.FlagMatch) Rule { return Rule{knock.TCP, port, m} }
	udp := func(port uint16) Rule { return Rule{knock.UDP, port, knock.FlagMatch{}} }
	to := func(f Filter, dst ...string) Filter {
		for _, d := range dst {
			f.Dst = append(f.Dst, netip.MustParseAddr(d))
		}
		return f
	}
	tests := []struct {
		name   string
		filter Filter
		frame  string
		want   bool
	}{
		{"SYN to a door port", musicDoors, "lo: IPv4 TCP SYN (Ethernet, zero addresses)", true},
		{"IPv6 SYN to a pitch port", musicDoors, "lo: IPv6 TCP SYN", true},
		{"UDP to a door port", musicDoors, "lo: IPv4 UDP", true},
		{"IPv6 UDP to a door port", musicDoors, "lo: IPv6 UDP", true},
		{"wrong port", only(tcp(1001, synOnly)), "lo: IPv4 TCP SYN (Ethernet, zero addresses)", false},
		{"TCP rule, UDP packet to its port", only(tcp(1001, knock.FlagMatch{})), "lo: IPv4 UDP", false},
		{"UDP rule, TCP packet to its port", only(udp(1000)), "lo: IPv4 TCP SYN (Ethernet, zero addresses)", false},
		{"RST-ACK where SYN is required", only(tcp(43820, knock.FlagMatch{Set: knock.SYN})), "lo: IPv4 TCP RST-ACK", false},
		{"RST-ACK with no flag rule", only(tcp(43820, knock.FlagMatch{})), "lo: IPv4 TCP RST-ACK", true},
		{"RST-ACK against ack,!syn", only(tcp(43820, knock.FlagMatch{Set: knock.ACK, Clear: knock.SYN})), "lo: IPv4 TCP RST-ACK", true},
		{"RST-ACK against !rst", only(tcp(43820, knock.FlagMatch{Clear: knock.RST})), "lo: IPv4 TCP RST-ACK", false},
		{"one port, two flag rules, second matches", only(tcp(43820, knock.FlagMatch{Set: knock.SYN}), tcp(43820, knock.FlagMatch{Set: knock.RST})), "lo: IPv4 TCP RST-ACK", true},
		{"IPv4 to another destination", to(only(tcp(1000, synOnly)), "10.77.0.1", "::1"), "lo: IPv4 TCP SYN (Ethernet, zero addresses)", false},
		{"IPv4 with only IPv6 destinations", to(only(tcp(1000, synOnly)), "::1"), "lo: IPv4 TCP SYN (Ethernet, zero addresses)", false},
		{"IPv6 to another destination", to(only(tcp(1001, synOnly)), "fd77::2", "127.0.0.1"), "veth: IPv6 TCP SYN", false},
		{"IPv6 to a destination sharing 12 bytes", to(only(tcp(1001, synOnly)), "fd77::1:1"), "veth: IPv6 TCP SYN", false},
		{"IPv6 to the second destination", to(only(tcp(1001, synOnly)), "fd77::2", "fd77::1"), "veth: IPv6 TCP SYN", true},
		{"IPv4-mapped destination stands for IPv4", to(only(tcp(1000, synOnly)), "::ffff:10.77.0.1"), "veth: IPv4 TCP SYN", true},
		{"ARP", Filter{Rules: []Rule{tcp(1000, knock.FlagMatch{})}}, "veth: ARP request", false},
		{"ICMP quoting a knock", musicDoors, "lo: ICMP port unreachable quoting a UDP knock", false},
		{"SLL: received SYN", musicDoors, "any (SLL): IPv4 TCP SYN received on veth", true},
		{"SLL: SYN this host sent", only(tcp(1000, synOnly)), "any (SLL): IPv4 TCP SYN sent by this host", false},
		{"SLL2: received IPv6 SYN", musicDoors, "any (SLL2): IPv6 TCP SYN received on veth", true},
		{"SLL2: SYN this host sent", only(tcp(1000, synOnly)), "any (SLL2): IPv4 TCP SYN sent by this host", false},
		{"802.1Q-tagged SYN", musicDoors, "VLAN: 802.1Q-tagged IPv4 TCP SYN", true},
		{"double-tagged SYN", musicDoors, "VLAN: 802.1ad+802.1Q double-tagged IPv4 TCP SYN", true},
		{"IPv6 extension headers walked", musicDoors, "IPv6 hop-by-hop, destination options, first fragment, TCP SYN", true},
		{"IPv6 extension headers, wrong port", only(tcp(2068, synOnly)), "IPv6 hop-by-hop, destination options, first fragment, TCP SYN", false},
		{"IPv6 later fragment", only(tcp(2069, knock.FlagMatch{}), udp(2069)), "IPv6 later fragment", false},
		{"IPv4 first fragment", musicDoors, "IPv4 first fragment, TCP SYN", true},
		{"IPv4 later fragment", only(tcp(1000, knock.FlagMatch{})), "IPv4 later fragment", false},
		{"BSD loopback IPv4", musicDoors, "null (FreeBSD lo0): IPv4 TCP SYN", true},
		{"BSD loopback IPv6", musicDoors, "null (FreeBSD lo0): IPv6 TCP SYN", true},
		{"OpenBSD loopback UDP", musicDoors, "loop (network order): IPv4 UDP", true},
		{"raw IPv4", musicDoors, "raw: IPv4 TCP SYN", true},
		{"raw IPv6 UDP", musicDoors, "raw: IPv6 UDP", true},
		{"raw IPv6 UDP, wrong destination", to(only(udp(1002)), "127.0.0.1"), "raw: IPv6 UDP", false},
		{"no rules", Filter{}, "lo: IPv4 TCP SYN (Ethernet, zero addresses)", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := frameNamed(t, tt.frame)
			if got := passes(t, vm(t, tt.filter, f.Link), f.Data); got != tt.want {
				t.Errorf("filter passes %q = %v, want %v", tt.frame, got, tt.want)
			}
		})
	}
}

// agreementFilters are filters under which every frame must get the same
// verdict from the BPF program as from decoding and the user-space check.
var agreementFilters = map[string]Filter{
	"music doors":        musicDoors,
	"any TCP flags":      {Rules: []Rule{{knock.TCP, 1000, knock.FlagMatch{}}, {knock.TCP, 43820, knock.FlagMatch{}}, {knock.TCP, 2069, knock.FlagMatch{}}}},
	"ack,!syn":           {Rules: []Rule{{knock.TCP, 43820, knock.FlagMatch{Set: knock.ACK, Clear: knock.SYN}}}},
	"udp only, IPv6 dst": {Rules: []Rule{{knock.UDP, 1001, knock.FlagMatch{}}, {knock.UDP, 1002, knock.FlagMatch{}}}, Dst: []netip.Addr{netip.MustParseAddr("::1")}},
	"no rules":           {},
}

func TestFilterAgreesWithDecoder(t *testing.T) {
	dec := decode.NewDecoder()
	for fname, f := range agreementFilters {
		m, err := NewEventFilter(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, fr := range decodetest.Frames {
			kernel := passes(t, vm(t, f, fr.Link), fr.Data)
			var ev knock.Event
			ok, err := dec.Decode(fr.Link, fr.Data, time.Time{}, &ev)
			user := err == nil && ok && m.Passes(&ev)
			if kernel != user {
				t.Errorf("filter %q, frame %q: BPF passes = %v, decoder and check pass = %v", fname, fr.Name, kernel, user)
			}
		}
	}
}

// TestCompileFilterLongJumps builds a filter too long for classic BPF's
// 8-bit conditional jumps and checks that every part is still reached.
func TestCompileFilterLongJumps(t *testing.T) {
	var f Filter
	for p := uint16(10000); p < 10000+2*400; p += 2 { // no runs: one comparison each
		f.Rules = append(f.Rules, Rule{knock.TCP, p, synOnly})
	}
	f.Rules = append(f.Rules, Rule{knock.TCP, 1000, synOnly}, Rule{knock.UDP, 1001, knock.FlagMatch{}})
	for i := range 100 {
		f.Dst = append(f.Dst, netip.AddrFrom4([4]byte{10, 99, byte(i), 1}))
	}
	f.Dst = append(f.Dst, netip.MustParseAddr("127.0.0.1"))
	raw, err := CompileFilter(f, decode.LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	ins, _ := bpf.Disassemble(raw)
	if !slices.ContainsFunc(ins, func(in bpf.Instruction) bool { j, ok := in.(bpf.Jump); return ok && j.Skip > 255 }) {
		t.Fatalf("filter of %d instructions has no jump beyond 255: the test needs a longer one", len(raw))
	}
	v := vm(t, f, decode.LinkEthernet)
	for _, tt := range []struct {
		frame string
		want  bool
	}{
		{"lo: IPv4 TCP SYN (Ethernet, zero addresses)", true},
		{"lo: IPv4 UDP", true},
		{"lo: IPv6 TCP SYN", false},
		{"veth: IPv4 TCP SYN", false},
	} {
		if got := passes(t, v, frameNamed(t, tt.frame).Data); got != tt.want {
			t.Errorf("long filter passes %q = %v, want %v", tt.frame, got, tt.want)
		}
	}
}

func TestCompileFilterErrors(t *testing.T) {
	manyPorts := Filter{}
	for p := uint16(1); p < 9000; p += 2 {
		manyPorts.Rules = append(manyPorts.Rules, Rule{knock.TCP, p, synOnly})
	}
	tests := []struct {
		name    string
		filter  Filter
		link    decode.LinkType
		wantErr string
	}{
		{"ICMP rule", Filter{Rules: []Rule{{Proto: 1, Port: 1}}}, decode.LinkEthernet, "protocol proto(1) is neither tcp nor udp"},
		{"flag required and forbidden", Filter{Rules: []Rule{{knock.TCP, 1, knock.FlagMatch{Set: knock.SYN | knock.ACK, Clear: knock.ACK}}}}, decode.LinkEthernet, "both required and forbidden"},
		{"unknown flag bit", Filter{Rules: []Rule{{knock.TCP, 1, knock.FlagMatch{Set: 0x40}}}}, decode.LinkEthernet, "unknown TCP flag bits 0x40"},
		{"invalid destination", Filter{Dst: []netip.Addr{{}}}, decode.LinkEthernet, "destination 0 is not a valid address"},
		{"destination with zone", Filter{Dst: []netip.Addr{netip.MustParseAddr("fe80::1%eth0")}}, decode.LinkEthernet, "has a zone"},
		{"unsupported link type", Filter{}, decode.LinkType(105), "cannot filter frames of link type"},
		{"too many ports", manyPorts, decode.LinkEthernet, "more than the kernel's limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CompileFilter(tt.filter, tt.link)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "capture: ") {
				t.Errorf("CompileFilter() error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestKernelFilterAssembles checks the Linux socket program, which the VM
// cannot run (it reads the packet type and protocol the kernel supplies):
// it must start with those checks and then be the portable program.
func TestKernelFilterAssembles(t *testing.T) {
	cf, err := compile(musicDoors)
	if err != nil {
		t.Fatal(err)
	}
	kernel, err := cf.program(decode.LinkRaw, true)
	if err != nil {
		t.Fatal(err)
	}
	portable, err := cf.program(decode.LinkRaw, false)
	if err != nil {
		t.Fatal(err)
	}
	ins, ok := bpf.Disassemble(kernel)
	if !ok {
		t.Fatal("kernel program does not disassemble")
	}
	want := []bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: decode.PacketOutgoing, SkipTrue: uint8(len(kernel) - 3)},
		bpf.LoadExtension{Num: bpf.ExtProto},
	}
	if len(ins) < len(want) || !slices.Equal(ins[:len(want)], want) {
		t.Errorf("kernel program starts with %v, want %v", ins[:min(len(ins), len(want))], want)
	}
	if len(kernel)-len(portable) != 5 {
		t.Errorf("kernel program is %d instructions longer than the portable one, want 5", len(kernel)-len(portable))
	}
}

// TestCompileFilterFitsFreeBSD keeps the default doors on a host with many
// addresses under FreeBSD's BPF_MAXINSNS (512); Linux takes 4096.
func TestCompileFilterFitsFreeBSD(t *testing.T) {
	f := musicDoors
	f.Dst = nil
	for i := range 16 {
		f.Dst = append(f.Dst, netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)}))
	}
	for _, link := range decode.LinkTypes {
		raw, err := CompileFilter(f, link)
		if err != nil {
			t.Fatalf("CompileFilter(%v) error: %v", link, err)
		}
		if len(raw) > 512 {
			t.Errorf("CompileFilter(%v) = %d instructions, more than FreeBSD's 512", link, len(raw))
		}
	}
}
