package interop

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/knockbeep/knockbeep/knock"
)

// The lab's addresses: the daemons' side of the veth pair (srv) and the
// clients' side (cli). The knockers of the scenarios use addresses outside
// the lab's subnets (x, y, ...), so the server has no route back to them
// and never answers: what the daemons see is exactly what the scenario
// sends. Every lab is its own pair of network namespaces, so every lab
// uses the same addresses and interface names.
var (
	srv4 = netip.MustParseAddr("198.18.0.1")
	srv6 = netip.MustParseAddr("fd00:4b42::1")

	srvMAC = net.HardwareAddr{0x02, 0x4b, 0x42, 0, 0, 0x01}
	cliMAC = net.HardwareAddr{0x02, 0x4b, 0x42, 0, 0, 0x02}
)

const (
	srvIf = "kbs0" // the daemons capture here
	cliIf = "kbc0" // the clients and the packet injector send from here
)

// Knockers of the scenarios.
const (
	x       = "198.19.0.11"
	y       = "198.19.0.12"
	z       = "198.19.0.13"
	w       = "198.19.0.14"
	scanner = "198.19.0.99"
	x6      = "fd00:4b42:1::11"
)

// openedFile is the file, in each daemon's working directory, that the
// doors' commands append their lines to. A relative name lets one
// knockd.conf serve every daemon: each runs its commands in its own
// directory.
const openedFile = "opened"

// envMark is set in the daemons' environment: a command that sees it
// inherited the daemon's environment.
const envMark = "KNOCKBEEP_INTEROP_MARK"

// A knockPacket is one packet of a scenario: at its offset from the
// scenario's start, from src to the lab server's port, TCP with flags or
// UDP.
type knockPacket struct {
	at    time.Duration
	src   netip.Addr
	proto knock.Proto
	port  uint16
	flags knock.TCPFlags
}

// k is one knock, ms milliseconds into the scenario, from src to port
// ("7000" or "7000:udp"); a TCP knock is a SYN unless flags are given.
func k(ms int, src, port string, flags ...knock.TCPFlags) knockPacket {
	p := knockPacket{at: time.Duration(ms) * time.Millisecond, src: netip.MustParseAddr(src), proto: knock.TCP, flags: knock.SYN}
	num, proto, _ := strings.Cut(port, ":")
	if proto == "udp" {
		p.proto, p.flags = knock.UDP, 0
	}
	if _, err := fmt.Sscan(num, &p.port); err != nil {
		panic(fmt.Sprintf("scenario knock %q: %v", port, err))
	}
	if len(flags) > 0 {
		p.flags = 0
		for _, f := range flags {
			p.flags |= f
		}
	}
	return p
}

// knocks is a sequence of SYNs (or "PORT:udp" datagrams) from src, the
// first ms milliseconds into the scenario and one every 20 ms after it.
func knocks(ms int, src string, ports ...string) []knockPacket {
	out := make([]knockPacket, len(ports))
	for i, port := range ports {
		out[i] = k(ms+20*i, src, port)
	}
	return out
}

// timeline merges parts into one list in time order; packets at the same
// time keep the order in which they were given.
func timeline(parts ...[]knockPacket) []knockPacket {
	var out []knockPacket
	for _, p := range parts {
		out = append(out, p...)
	}
	slices.SortStableFunc(out, func(a, b knockPacket) int { return int(a.at - b.at) })
	return out
}

// one wraps single packets for timeline.
func one(p ...knockPacket) []knockPacket { return p }

// frame is p as an Ethernet frame from the client's side of the lab to
// the server's: what the daemons capture.
func (p knockPacket) frame() ([]byte, error) {
	eth := &layers.Ethernet{SrcMAC: cliMAC, DstMAC: srvMAC}
	var ip gopacket.NetworkLayer
	var ipLayer gopacket.SerializableLayer
	if p.src.Is4() {
		eth.EthernetType = layers.EthernetTypeIPv4
		v4 := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocol(p.proto),
			SrcIP: p.src.AsSlice(), DstIP: srv4.AsSlice(), Flags: layers.IPv4DontFragment}
		ip, ipLayer = v4, v4
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		v6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocol(p.proto),
			SrcIP: p.src.AsSlice(), DstIP: srv6.AsSlice()}
		ip, ipLayer = v6, v6
	}
	// A fixed source port per destination port: the daemons do not look
	// at it, and a fixed one keeps the frames reproducible.
	srcPort := 40000 + p.port%20000
	var transport gopacket.SerializableLayer
	var payload gopacket.Payload
	switch p.proto {
	case knock.TCP:
		t := &layers.TCP{SrcPort: layers.TCPPort(srcPort), DstPort: layers.TCPPort(p.port), Seq: 1000 + uint32(p.port), Window: 64240,
			FIN: p.flags&knock.FIN != 0, SYN: p.flags&knock.SYN != 0, RST: p.flags&knock.RST != 0,
			PSH: p.flags&knock.PSH != 0, ACK: p.flags&knock.ACK != 0, URG: p.flags&knock.URG != 0}
		if t.ACK {
			t.Ack = 1
		}
		if err := t.SetNetworkLayerForChecksum(ip); err != nil {
			return nil, err
		}
		transport = t
	case knock.UDP:
		u := &layers.UDP{SrcPort: layers.UDPPort(srcPort), DstPort: layers.UDPPort(p.port)}
		if err := u.SetNetworkLayerForChecksum(ip); err != nil {
			return nil, err
		}
		transport = u
		payload = gopacket.Payload{0} // knockd's client sends one byte
	default:
		return nil, fmt.Errorf("interop: no frame for protocol %v", p.proto)
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ipLayer, transport, payload); err != nil {
		return nil, fmt.Errorf("interop: building the frame of %+v: %w", p, err)
	}
	return buf.Bytes(), nil
}

// writePcap records packets as a pcap file with Ethernet frames, the
// first at base: the file knockbeepd --replay reads.
func writePcap(path string, base time.Time, packets []knockPacket) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	pw := pcapgo.NewWriter(f)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		f.Close()
		return err
	}
	for _, p := range packets {
		data, err := p.frame()
		if err != nil {
			f.Close()
			return err
		}
		ci := gopacket.CaptureInfo{Timestamp: base.Add(p.at), CaptureLength: len(data), Length: len(data)}
		if err := pw.WritePacket(ci, data); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// A scenario is one knockd.conf and one stream of packets given to both
// daemons, with the commands each must run.
type scenario struct {
	name string
	// options is the body of knockd.conf's [options] section; empty
	// means "Interface = kbs0", the lab server's side.
	options string
	// doors are knockd.conf's door sections. A door without a
	// Start_Command gets one that appends "DOOR IP" to the file opened.
	doors  string
	knocks []knockPacket
	// align, when set, sends the first knock at this offset into a
	// wall-clock second: knockd measures timeouts in whole seconds of
	// the packets' time stamps, and some scenarios depend on where the
	// second boundaries fall.
	align time.Duration
	// want is the lines the commands write, in any order (in the order
	// written when ordered is set), the same for both daemons...
	want    []string
	ordered bool
	// ...unless knockdBug names a defect of knockd (a section of
	// docs/knockd-differences.md): then knockd writes knockd instead.
	knockdBug string
	knockd    []string
	// settle is how long commands may still take after the last knock
	// (stop commands, slow commands); 0 means a short default.
	settle time.Duration
	// files are written into each daemon's working directory before it
	// starts (one-time sequence files, which the daemons change).
	files map[string]string
}

// knockdWant is what knockd's commands write in sc.
func (sc scenario) knockdWant() []string {
	if sc.knockdBug != "" {
		return sc.knockd
	}
	return sc.want
}

// conf is sc's knockd.conf.
func (sc scenario) conf() string {
	var b strings.Builder
	options := sc.options
	if options == "" {
		options = "Interface = " + srvIf
	}
	fmt.Fprintf(&b, "# %s\n[options]\n", sc.name)
	for line := range strings.Lines(options) {
		fmt.Fprintf(&b, "\t%s\n", strings.TrimSpace(line))
	}
	b.WriteString(withCommands(sc.doors))
	return b.String()
}

// withCommands gives every door section of doors that has no start
// command one that appends "DOOR IP" to the file opened.
func withCommands(doors string) string {
	var b strings.Builder
	var name string
	hasStart := false
	flush := func() {
		if name != "" && !hasStart {
			fmt.Fprintf(&b, "\tStart_Command = echo \"%s %%IP%%\" >> %s\n", name, openedFile)
		}
	}
	for line := range strings.Lines(strings.TrimSpace(doors) + "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "[") && strings.HasSuffix(trimmed, "]"):
			flush()
			name, hasStart = trimmed[1:len(trimmed)-1], false
			b.WriteString(trimmed + "\n")
			continue
		case trimmed == "":
			continue
		}
		key, _, _ := strings.Cut(trimmed, "=")
		switch strings.ToUpper(strings.TrimSpace(key)) {
		case "START_COMMAND", "COMMAND":
			hasStart = true
		}
		b.WriteString("\t" + trimmed + "\n")
	}
	flush()
	return b.String()
}

// readOpened returns the lines the commands wrote in dir, in the order
// they were written.
func readOpened(dir string) []string {
	data, err := os.ReadFile(filepath.Join(dir, openedFile))
	if err != nil {
		return nil
	}
	var lines []string
	for line := range strings.Lines(string(data)) {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	return lines
}

// sortedCopy is lines sorted, for comparing outcomes in which the order of
// commands does not matter.
func sortedCopy(lines []string) []string {
	out := slices.Clone(lines)
	slices.Sort(out)
	return out
}

// diffLines shows want and got when they differ, "" when they are equal:
// the lines missing from got (-), the lines got has too many of (+), then
// both in full.
func diffLines(want, got []string) string {
	if slices.Equal(want, got) {
		return ""
	}
	count := map[string]int{}
	for _, l := range want {
		count[l]++
	}
	for _, l := range got {
		count[l]--
	}
	var b strings.Builder
	b.WriteString("(-want +got):\n")
	for _, l := range sortedCopy(slices.Compact(sortedCopy(append(slices.Clone(want), got...)))) {
		for n := count[l]; n > 0; n-- {
			fmt.Fprintf(&b, "-%s\n", l)
		}
		for n := count[l]; n < 0; n++ {
			fmt.Fprintf(&b, "+%s\n", l)
		}
	}
	if len(want) <= 20 && len(got) <= 20 {
		fmt.Fprintf(&b, "want %q\ngot  %q", want, got)
	} else {
		fmt.Fprintf(&b, "want %d lines, got %d", len(want), len(got))
		if i := firstDifference(want, got); i >= 0 {
			fmt.Fprintf(&b, "; they first differ at line %d", i+1)
		}
	}
	return b.String()
}

// outcome is lines as compared for sc: sorted, unless the order of the
// commands matters in sc.
func (sc scenario) outcome(lines []string) []string {
	if sc.ordered {
		return slices.Clone(lines)
	}
	return sortedCopy(lines)
}

// workDir makes the working directory of one daemon run of sc under
// parent, with sc's files in it.
func workDir(t testing.TB, parent, name string, sc scenario) string {
	t.Helper()
	dir := mkdir(t, parent, name)
	for file, text := range sc.files {
		writeFile(t, filepath.Join(dir, file), text)
	}
	return dir
}

// firstDifference is the index of the first line where a and b differ, or
// -1 when they are equal.
func firstDifference(a, b []string) int {
	for i := range max(len(a), len(b)) {
		if i >= len(a) || i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return -1
}
