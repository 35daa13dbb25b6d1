package daemon

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/bpf"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/capture"
	"github.com/knockbeep/knockbeep/knock/config"
	"github.com/knockbeep/knockbeep/knock/decode"
	"github.com/knockbeep/knockbeep/sequence"
)

// musicFlags is what a TCP packet to a music port must look like to be a
// knock: a SYN, not the ACK of a connection (package music's definition).
var musicFlags = knock.FlagMatch{Set: knock.SYN, Clear: knock.ACK}

// FilterFor returns the capture filter for cfg's doors and music ports:
// every step of every enabled door with the door's TCP flags, and the music
// protocol's ports as TCP SYNs without ACK and as UDP datagrams (which
// package music also takes as knocks). The destinations are local — this
// host's addresses — when the music doors are on or some door has no
// target, plus every door's targets. With onlyIPv4 the IPv6 destinations
// are left out, so the kernel drops IPv6 knocks (knockd's -4).
//
// doors are the doors as they stand now: a one-time door's Sequence is
// its current line, or empty once its file is used up.
func FilterFor(cfg *config.Config, doors []knock.Door, local []netip.Addr, onlyIPv4 bool) capture.Filter {
	rules, needLocal, targets := filterParts(cfg, doors)
	f := capture.Filter{Rules: rules}
	dst := targets
	if needLocal {
		dst = append(dst, local...)
	}
	f.Dst = destinations(dst, onlyIPv4)
	if len(f.Dst) == 0 && len(f.Rules) > 0 {
		// An empty Dst means any destination, but here none qualifies
		// (-4 with IPv6 targets only): keep one nobody sends to.
		f.Dst = []netip.Addr{netip.IPv4Unspecified()}
	}
	return f
}

// filterFor is FilterFor with this host's addresses as the daemon holds
// them.
func filterFor(cfg *config.Config, doors []knock.Door, local *addrSet, onlyIPv4 bool) capture.Filter {
	if local.all {
		return anyLocalFilter(cfg, doors, onlyIPv4)
	}
	return FilterFor(cfg, doors, local.list, onlyIPv4)
}

// anyLocalFilter is FilterFor when every address is this host's (a
// capture file): only doors with targets can restrict destinations.
func anyLocalFilter(cfg *config.Config, doors []knock.Door, onlyIPv4 bool) capture.Filter {
	rules, needLocal, targets := filterParts(cfg, doors)
	f := capture.Filter{Rules: rules}
	if !needLocal {
		f.Dst = destinations(targets, onlyIPv4)
	}
	return f
}

// filterParts returns the rules for doors and the music ports, whether
// some of them take knocks to this host's own addresses, and the doors'
// targets.
func filterParts(cfg *config.Config, doors []knock.Door) (rules []capture.Rule, needLocal bool, targets []netip.Addr) {
	if songs, ok := cfg.Music.SongDoor(); ok {
		// Under a secret, songs arrive on the music's rotating range, and
		// the static music ports below pass nothing.
		doors = append(slices.Clip(doors), songs)
	}
	ranges := map[string]bool{}
	for _, d := range doors {
		if r := d.Rotating; r != nil && !ranges[d.Name] {
			// A rotating door's whole range passes, not only the
			// current sequences' ports: a wrong knock anywhere in it
			// must reach the matcher to reset the knocker's attempt,
			// or a sweep of the range would find the sequence (see
			// docs/security.md).
			ranges[d.Name] = true
			for port := int(r.PortLo); port <= int(r.PortHi); port++ {
				for _, p := range r.RangeProtos() {
					rule := capture.Rule{Proto: p, Port: uint16(port)}
					if p == knock.TCP {
						rule.Flags = d.Flags
					}
					rules = append(rules, rule)
				}
			}
			if len(d.Targets) == 0 {
				needLocal = true
			}
			targets = append(targets, d.Targets...)
			continue
		}
		if len(d.Sequence) == 0 || d.Rotating != nil {
			continue
		}
		for _, s := range d.Sequence {
			r := capture.Rule{Proto: s.Proto, Port: s.Port}
			if s.Proto == knock.TCP {
				r.Flags = d.Flags
			}
			rules = append(rules, r)
		}
		if len(d.Targets) == 0 {
			needLocal = true
		}
		targets = append(targets, d.Targets...)
	}
	if cfg.Music.Enabled && cfg.Music.Rotating == nil {
		needLocal = true
		for _, port := range musicPorts(cfg) {
			rules = append(rules,
				capture.Rule{Proto: knock.TCP, Port: port, Flags: musicFlags},
				capture.Rule{Proto: knock.UDP, Port: port})
		}
	}
	return rules, needLocal, targets
}

// destinations normalizes addresses as packets carry them, sorted and
// without duplicates, IPv4 only with onlyIPv4.
func destinations(addrs []netip.Addr, onlyIPv4 bool) []netip.Addr {
	var out []netip.Addr
	for _, a := range addrs {
		a = a.Unmap().WithZone("")
		if onlyIPv4 && !a.Is4() {
			continue
		}
		out = append(out, a)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}

// musicPorts lists the music protocol's ports: tone, silence, play, the
// ensemble port ([music] ensemble_port, when not 0), the 128 pitch ports
// when pitch knocks are on, and the note ports when note knocks are. The kernel filter checks a run of ports with two
// comparisons, so the 32768 note ports cost no more than one.
func musicPorts(cfg *config.Config) []uint16 {
	p := cfg.Music.Protocol
	ports := []uint16{p.TonePort, p.SilencePort, p.PlayPort}
	if e := cfg.Music.EnsemblePort; e != 0 {
		ports = append(ports, e)
	}
	if p.PitchBase != 0 {
		for n := range uint16(128) {
			ports = append(ports, p.PitchBase+n)
		}
	}
	if p.NoteBase != 0 {
		for n := range sequence.NotePorts {
			ports = append(ports, p.NoteBase+uint16(n))
		}
	}
	return ports
}

// DescribeFilter writes f for a person: the packets it passes, grouped by
// protocol and flags with port ranges, the destinations, and the classic
// BPF program the Linux capture attaches (raw IP frames; FreeBSD's link
// preambles differ, the rest is the same).
func DescribeFilter(f capture.Filter) (string, error) {
	var b strings.Builder
	type group struct {
		proto knock.Proto
		flags knock.FlagMatch
	}
	ports := map[group][]uint16{}
	var order []group
	for _, r := range f.Rules {
		g := group{proto: r.Proto}
		if r.Proto == knock.TCP {
			g.flags = r.Flags
		}
		if _, ok := ports[g]; !ok {
			order = append(order, g)
		}
		ports[g] = append(ports[g], r.Port)
	}
	if len(order) == 0 {
		b.WriteString("passes nothing: no door has a sequence and the music doors are off\n")
	}
	for _, g := range order {
		fmt.Fprintf(&b, "%v to port %s", g.proto, portRanges(ports[g]))
		if g.proto == knock.TCP {
			fmt.Fprintf(&b, ", flags %s", flagText(g.flags))
		}
		b.WriteByte('\n')
	}
	if len(f.Dst) == 0 {
		b.WriteString("to any destination\n")
	} else {
		dst := make([]string, len(f.Dst))
		for i, a := range f.Dst {
			dst[i] = a.String()
		}
		fmt.Fprintf(&b, "to %s\n", strings.Join(dst, ", "))
	}
	raw, err := capture.CompileFilter(f, decode.LinkRaw)
	if err != nil {
		return "", err
	}
	insts, _ := bpf.Disassemble(raw)
	fmt.Fprintf(&b, "BPF program for raw IP frames (%d instructions):\n", len(raw))
	for i, in := range insts {
		fmt.Fprintf(&b, "%4d  %v\n", i, in)
	}
	return b.String(), nil
}

// portRanges writes ports sorted, runs as "2000-2127".
func portRanges(ports []uint16) string {
	ports = slices.Clone(ports)
	slices.Sort(ports)
	ports = slices.Compact(ports)
	var parts []string
	for i := 0; i < len(ports); {
		j := i
		for j+1 < len(ports) && ports[j+1] == ports[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, strconv.Itoa(int(ports[i]))+"-"+strconv.Itoa(int(ports[j])))
		} else {
			parts = append(parts, strconv.Itoa(int(ports[i])))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// flagText writes m in knockd's tcpflags syntax, "syn,!ack"; "any" for
// the zero FlagMatch.
func flagText(m knock.FlagMatch) string {
	names := []struct {
		flag knock.TCPFlags
		name string
	}{{knock.FIN, "fin"}, {knock.SYN, "syn"}, {knock.RST, "rst"}, {knock.PSH, "psh"}, {knock.ACK, "ack"}, {knock.URG, "urg"}}
	var parts []string
	for _, n := range names {
		if m.Set&n.flag != 0 {
			parts = append(parts, n.name)
		}
	}
	for _, n := range names {
		if m.Clear&n.flag != 0 {
			parts = append(parts, "!"+n.name)
		}
	}
	if len(parts) == 0 {
		return "any"
	}
	return strings.Join(parts, ",")
}
