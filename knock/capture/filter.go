package capture

import (
	"fmt"
	"net/netip"
	"slices"

	"golang.org/x/net/bpf"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/decode"
)

// A Rule describes packets that may be knocks: a protocol and destination
// port, and for TCP the flags the packet must have set and clear.
// Flags are ignored for UDP.
type Rule struct {
	Proto knock.Proto
	Port  uint16
	Flags knock.FlagMatch
}

// A Filter says which packets reach the matcher: those matching any rule
// and sent to one of Dst. An empty Dst does not restrict the destination.
// IPv4-mapped IPv6 destinations stand for their IPv4 address.
type Filter struct {
	Rules []Rule
	Dst   []netip.Addr
}

// acceptBytes is what the filter returns for an accepted packet: the
// number of bytes to capture. It is ample for every header chain the
// decoder walks, and keeps large packets from filling the ring.
const acceptBytes = 1024

// compiledFilter is a validated Filter in the form the hot path checks,
// and normalized for the BPF program: rules grouped and deduplicated.
type compiledFilter struct {
	tcp     map[knock.FlagMatch][]uint16 // TCP ports by the flags they want
	tcpSets []flagPorts                  // the same, as bitmaps, in sortedFlagMatches order
	udp     []uint16
	udpSet  *portSet // nil: no UDP rule
	anyDst  bool     // Filter.Dst is empty
	dst4    []netip.Addr
	dst6    []netip.Addr
}

// A portSet is a bitmap of the 65536 ports: one bit test decides a port,
// where a map would hash and probe for every event.
type portSet [65536 / 64]uint64

func (s *portSet) add(p uint16)      { s[p/64] |= 1 << (p % 64) }
func (s *portSet) has(p uint16) bool { return s[p/64]&(1<<(p%64)) != 0 }

// flagPorts are the TCP ports of the rules that want one FlagMatch.
type flagPorts struct {
	flags knock.FlagMatch
	ports *portSet
}

// compile validates f.
func compile(f Filter) (*compiledFilter, error) {
	c := &compiledFilter{tcp: make(map[knock.FlagMatch][]uint16), anyDst: len(f.Dst) == 0}
	tcpSets := make(map[knock.FlagMatch]*portSet)
	for i, r := range f.Rules {
		switch r.Proto {
		case knock.TCP:
			const all = knock.FIN | knock.SYN | knock.RST | knock.PSH | knock.ACK | knock.URG
			if (r.Flags.Set|r.Flags.Clear)&^all != 0 {
				return nil, fmt.Errorf("capture: rule %d (tcp/%d): unknown TCP flag bits %#x", i, r.Port, uint8((r.Flags.Set|r.Flags.Clear)&^all))
			}
			if both := r.Flags.Set & r.Flags.Clear; both != 0 {
				return nil, fmt.Errorf("capture: rule %d (tcp/%d): flags %#x are both required and forbidden, so no packet can match", i, r.Port, uint8(both))
			}
			set := tcpSets[r.Flags]
			if set == nil {
				set = new(portSet)
				tcpSets[r.Flags] = set
			}
			if !set.has(r.Port) {
				set.add(r.Port)
				c.tcp[r.Flags] = append(c.tcp[r.Flags], r.Port)
			}
		case knock.UDP:
			if c.udpSet == nil {
				c.udpSet = new(portSet)
			}
			if !c.udpSet.has(r.Port) {
				c.udpSet.add(r.Port)
				c.udp = append(c.udp, r.Port)
			}
		default:
			return nil, fmt.Errorf("capture: rule %d: protocol %v is neither tcp nor udp", i, r.Proto)
		}
	}
	for _, m := range sortedFlagMatches(c.tcp) {
		c.tcpSets = append(c.tcpSets, flagPorts{flags: m, ports: tcpSets[m]})
	}
	for i, a := range f.Dst {
		if !a.IsValid() {
			return nil, fmt.Errorf("capture: destination %d is not a valid address", i)
		}
		if a.Zone() != "" {
			return nil, fmt.Errorf("capture: destination %v has a zone: give the address alone", a)
		}
		a = a.Unmap()
		if slices.Contains(c.dst4, a) || slices.Contains(c.dst6, a) {
			continue
		}
		if a.Is4() {
			c.dst4 = append(c.dst4, a)
		} else {
			c.dst6 = append(c.dst6, a)
		}
	}
	return c, nil
}

// match reports whether ev passes the filter: the same decision as the
// compiled BPF program, taken on the decoded event. An IPv6 event to an
// IPv4-mapped address matches no IPv4 destination, as in the program.
func (c *compiledFilter) match(ev *knock.Event) bool {
	if !c.anyDst {
		// A linear search, as the BPF program's: a host has a handful of
		// addresses, and comparing one costs less than hashing it.
		dst := c.dst6
		if ev.Dst.Is4() {
			dst = c.dst4
		}
		if !slices.Contains(dst, ev.Dst) {
			return false
		}
	}
	switch ev.Proto {
	case knock.TCP:
		for _, g := range c.tcpSets {
			if g.ports.has(ev.Port) && g.flags.Match(ev.Flags) {
				return true
			}
		}
	case knock.UDP:
		return c.udpSet != nil && c.udpSet.has(ev.Port)
	}
	return false
}

// An EventFilter takes, on a decoded event, the decision the BPF program of
// its Filter takes on the raw frame. Live capture and Replay check every
// event with one; it is exported for callers that decode themselves.
// It is safe for concurrent use.
type EventFilter struct {
	c *compiledFilter
}

// NewEventFilter validates f, as CompileFilter does, and returns its EventFilter.
func NewEventFilter(f Filter) (*EventFilter, error) {
	c, err := compile(f)
	if err != nil {
		return nil, err
	}
	return &EventFilter{c}, nil
}

// Passes reports whether ev passes the filter.
func (m *EventFilter) Passes(ev *knock.Event) bool { return m.c.match(ev) }

// CompileFilter translates f into a classic BPF program for frames of the
// given link type, as run by the x/net/bpf VM and the kernels' socket
// filters: it accepts IPv4 and IPv6 (walking up to
// decode.MaxIPv6ExtensionHeaders extension headers, and only the first
// fragment of a fragmented packet) TCP and UDP packets to f's ports,
// flags and destinations, and rejects everything else, including frames a
// cooked capture marks as sent by this host. Live capture on Linux adds a
// packet-direction check in front of it.
func CompileFilter(f Filter, link decode.LinkType) ([]bpf.RawInstruction, error) {
	c, err := compile(f)
	if err != nil {
		return nil, err
	}
	return c.program(link, false)
}

// program assembles c for link. With kernelChecks it starts with the
// Linux socket-filter checks the VM cannot run: the packet is not one
// this host sent, and its protocol is IPv4 or IPv6.
func (c *compiledFilter) program(link decode.LinkType, kernelChecks bool) ([]bpf.RawInstruction, error) {
	if !link.Supported() {
		return nil, fmt.Errorf("capture: cannot filter frames of link type %v", link)
	}
	a := newAsm()
	accept, reject := a.newLabel(), a.newLabel()
	v4, v6 := a.newLabel(), a.newLabel()

	if kernelChecks {
		a.emit(bpf.LoadExtension{Num: bpf.ExtType})
		a.jumpIf(bpf.JumpEqual, decode.PacketOutgoing, reject, next)
		a.emit(bpf.LoadExtension{Num: bpf.ExtProto})
		ok := a.newLabel()
		a.jumpIf(bpf.JumpEqual, etherTypeIPv4, ok, next)
		a.jumpIf(bpf.JumpEqual, etherTypeIPv6, ok, reject)
		a.place(ok)
	}

	// Each link preamble leaves the offset of the IP header in X and
	// jumps to v4 or v6.
	switch link {
	case decode.LinkRaw:
		a.emit(bpf.LoadConstant{Dst: bpf.RegX, Val: 0})
		a.emit(bpf.LoadAbsolute{Off: 0, Size: 1}, bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf0})
		a.jumpIf(bpf.JumpEqual, 0x40, v4, next)
		a.jumpIf(bpf.JumpEqual, 0x60, v6, reject)
	case decode.LinkNull, decode.LinkLoop:
		// The family is in the capturing host's byte order (null) or in
		// network order (loop); accept both, as the decoder does.
		a.emit(bpf.LoadConstant{Dst: bpf.RegX, Val: 4})
		a.emit(bpf.LoadAbsolute{Off: 0, Size: 4})
		a.jumpIf(bpf.JumpEqual, familyIPv4, v4, next)
		a.jumpIf(bpf.JumpEqual, familyIPv4<<24, v4, next)
		for _, fam := range familiesIPv6 {
			a.jumpIf(bpf.JumpEqual, fam, v6, next)
			a.jumpIf(bpf.JumpEqual, fam<<24, v6, next)
		}
		a.jumpTo(reject)
	case decode.LinkEthernet:
		etherTypes(a, 12, 14, v4, v6, reject)
	case decode.LinkLinuxSLL:
		a.emit(bpf.LoadAbsolute{Off: 0, Size: 2})
		a.jumpIf(bpf.JumpEqual, decode.PacketOutgoing, reject, next)
		etherTypes(a, 14, 16, v4, v6, reject)
	case decode.LinkLinuxSLL2:
		a.emit(bpf.LoadAbsolute{Off: 10, Size: 1})
		a.jumpIf(bpf.JumpEqual, decode.PacketOutgoing, reject, next)
		etherTypes(a, 0, 20, v4, v6, reject)
	}

	tcp, udp := a.newLabel(), a.newLabel()
	a.place(v4)
	c.ipv4(a, tcp, udp, reject)
	a.place(v6)
	c.ipv6(a, tcp, udp, reject)
	a.place(tcp)
	c.tcpPorts(a, accept, reject)
	a.place(udp)
	c.udpPorts(a, accept, reject)

	a.place(accept)
	a.emit(bpf.RetConstant{Val: acceptBytes})
	a.place(reject)
	a.emit(bpf.RetConstant{Val: 0})
	return a.assemble()
}

// EtherTypes, from linux/if_ether.h (FreeBSD's net/ethernet.h has the same
// values as ETHERTYPE_IP, ETHERTYPE_IPV6, ETHERTYPE_VLAN, ETHERTYPE_QINQ),
// and the address family that BSD loopback captures (DLT_NULL) put before
// the IP header.
const (
	etherTypeIPv4  = 0x0800 // ETH_P_IP
	etherTypeIPv6  = 0x86dd // ETH_P_IPV6
	etherTypeDot1Q = 0x8100 // ETH_P_8021Q: an 802.1Q VLAN tag
	etherTypeQinQ  = 0x88a8 // ETH_P_8021AD: an 802.1ad (QinQ) service tag
	familyIPv4     = 2      // AF_INET, the same in every sys/socket.h
)

// familiesIPv6 are the values of AF_INET6 on Linux (linux/socket.h: 10),
// NetBSD and OpenBSD (sys/socket.h: 24), FreeBSD (sys/socket.h: 28) and
// Darwin (sys/socket.h: 30), all of which appear in loopback captures.
var familiesIPv6 = []uint32{10, 24, 28, 30}

// etherTypes dispatches on the EtherType at typeAt, with the IP header at
// ipAt, looking through up to two VLAN tags (802.1Q or 802.1ad).
func etherTypes(a *asm, typeAt, ipAt uint32, v4, v6, reject label) {
	for tags := 0; tags <= 2; tags++ {
		ipv4, ipv6 := a.newLabel(), a.newLabel()
		a.emit(bpf.LoadAbsolute{Off: typeAt, Size: 2})
		a.jumpIf(bpf.JumpEqual, etherTypeIPv4, ipv4, next)
		a.jumpIf(bpf.JumpEqual, etherTypeIPv6, ipv6, next)
		if tags < 2 {
			tagged := a.newLabel()
			a.jumpIf(bpf.JumpEqual, etherTypeDot1Q, tagged, next)
			a.jumpIf(bpf.JumpEqual, etherTypeQinQ, tagged, reject)
			a.place(ipv4)
			a.emit(bpf.LoadConstant{Dst: bpf.RegX, Val: ipAt})
			a.jumpTo(v4)
			a.place(ipv6)
			a.emit(bpf.LoadConstant{Dst: bpf.RegX, Val: ipAt})
			a.jumpTo(v6)
			a.place(tagged)
		} else {
			a.jumpTo(reject)
			a.place(ipv4)
			a.emit(bpf.LoadConstant{Dst: bpf.RegX, Val: ipAt})
			a.jumpTo(v4)
			a.place(ipv6)
			a.emit(bpf.LoadConstant{Dst: bpf.RegX, Val: ipAt})
			a.jumpTo(v6)
		}
		// A tag's TCI comes first, then the EtherType it carries.
		typeAt, ipAt = ipAt+2, ipAt+4
	}
}

// Scratch memory slots.
const scratchProto = 0

// ipv4 checks an IPv4 header at X and leaves X at its transport header.
func (c *compiledFilter) ipv4(a *asm, tcp, udp, reject label) {
	if !c.anyDst && len(c.dst4) == 0 {
		a.jumpTo(reject)
		return
	}
	a.emit(bpf.LoadIndirect{Off: 0, Size: 1}, bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf0})
	a.jumpIf(bpf.JumpEqual, 0x40, next, reject)
	if !c.anyDst {
		ok := a.newLabel()
		a.emit(bpf.LoadIndirect{Off: 16, Size: 4})
		for _, d := range c.dst4 {
			b := d.As4()
			a.jumpIf(bpf.JumpEqual, uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3]), ok, next)
		}
		a.jumpTo(reject)
		a.place(ok)
	}
	// Only the first fragment carries the ports.
	a.emit(bpf.LoadIndirect{Off: 6, Size: 2})
	a.jumpIf(bpf.JumpBitsSet, 0x1fff, reject, next)
	a.emit(bpf.LoadIndirect{Off: 9, Size: 1}, bpf.StoreScratch{Src: bpf.RegA, N: scratchProto})
	// X += 4 * IHL, with IHL at least 5.
	a.emit(bpf.LoadIndirect{Off: 0, Size: 1}, bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0x0f})
	a.jumpIf(bpf.JumpGreaterOrEqual, 5, next, reject)
	a.emit(bpf.ALUOpConstant{Op: bpf.ALUOpShiftLeft, Val: 2}, bpf.ALUOpX{Op: bpf.ALUOpAdd}, bpf.TAX{})
	a.emit(bpf.LoadScratch{Dst: bpf.RegA, N: scratchProto})
	a.jumpIf(bpf.JumpEqual, uint32(knock.TCP), tcp, next)
	a.jumpIf(bpf.JumpEqual, uint32(knock.UDP), udp, reject)
}

// ipv6 checks an IPv6 header at X, walks its extension headers and
// leaves X at its transport header.
func (c *compiledFilter) ipv6(a *asm, tcp, udp, reject label) {
	if !c.anyDst && len(c.dst6) == 0 {
		a.jumpTo(reject)
		return
	}
	a.emit(bpf.LoadIndirect{Off: 0, Size: 1}, bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf0})
	a.jumpIf(bpf.JumpEqual, 0x60, next, reject)
	if !c.anyDst {
		ok := a.newLabel()
		for _, d := range c.dst6 {
			b := d.As16()
			other := a.newLabel()
			for w := 0; w < 4; w++ {
				a.emit(bpf.LoadIndirect{Off: 24 + uint32(4*w), Size: 4})
				val := uint32(b[4*w])<<24 | uint32(b[4*w+1])<<16 | uint32(b[4*w+2])<<8 | uint32(b[4*w+3])
				if w < 3 {
					a.jumpIf(bpf.JumpEqual, val, next, other)
				} else {
					a.jumpIf(bpf.JumpEqual, val, ok, other)
				}
			}
			a.place(other)
		}
		a.jumpTo(reject)
		a.place(ok)
	}
	// A holds the next header, X its offset.
	a.emit(bpf.LoadIndirect{Off: 6, Size: 1}, bpf.StoreScratch{Src: bpf.RegA, N: scratchProto})
	a.emit(bpf.TXA{}, bpf.ALUOpConstant{Op: bpf.ALUOpAdd, Val: 40}, bpf.TAX{})
	a.emit(bpf.LoadScratch{Dst: bpf.RegA, N: scratchProto})
	for walked := 0; ; walked++ {
		a.jumpIf(bpf.JumpEqual, uint32(knock.TCP), tcp, next)
		a.jumpIf(bpf.JumpEqual, uint32(knock.UDP), udp, next)
		if walked == decode.MaxIPv6ExtensionHeaders {
			a.jumpTo(reject)
			return
		}
		ext, frag := a.newLabel(), a.newLabel()
		a.jumpIf(bpf.JumpEqual, 0, ext, next)
		a.jumpIf(bpf.JumpEqual, 43, ext, next)
		a.jumpIf(bpf.JumpEqual, 60, ext, next)
		a.jumpIf(bpf.JumpEqual, 44, frag, reject)
		step := a.newLabel()
		a.place(ext)
		// X += 8 * (length + 1)
		a.emit(bpf.LoadIndirect{Off: 0, Size: 1}, bpf.StoreScratch{Src: bpf.RegA, N: scratchProto})
		a.emit(bpf.LoadIndirect{Off: 1, Size: 1},
			bpf.ALUOpConstant{Op: bpf.ALUOpShiftLeft, Val: 3},
			bpf.ALUOpConstant{Op: bpf.ALUOpAdd, Val: 8},
			bpf.ALUOpX{Op: bpf.ALUOpAdd}, bpf.TAX{})
		a.emit(bpf.LoadScratch{Dst: bpf.RegA, N: scratchProto})
		a.jumpTo(step)
		a.place(frag)
		// Only the first fragment (offset 0) carries the ports.
		a.emit(bpf.LoadIndirect{Off: 2, Size: 2})
		a.jumpIf(bpf.JumpBitsSet, 0xfff8, reject, next)
		a.emit(bpf.LoadIndirect{Off: 0, Size: 1}, bpf.StoreScratch{Src: bpf.RegA, N: scratchProto})
		a.emit(bpf.TXA{}, bpf.ALUOpConstant{Op: bpf.ALUOpAdd, Val: 8}, bpf.TAX{})
		a.emit(bpf.LoadScratch{Dst: bpf.RegA, N: scratchProto})
		a.place(step)
	}
}

// tcpPorts checks the TCP header at X against the TCP rules.
func (c *compiledFilter) tcpPorts(a *asm, accept, reject label) {
	if len(c.tcp) == 0 {
		a.jumpTo(reject)
		return
	}
	// The whole header, options included, must be in the frame, as the
	// decoder wants it: data offset at least 5, and its last byte present.
	a.emit(bpf.LoadIndirect{Off: 12, Size: 1}, bpf.ALUOpConstant{Op: bpf.ALUOpShiftRight, Val: 4})
	a.jumpIf(bpf.JumpGreaterOrEqual, 5, next, reject)
	ok := a.newLabel()
	for _, m := range sortedFlagMatches(c.tcp) {
		other := a.newLabel()
		a.emit(bpf.LoadIndirect{Off: 2, Size: 2})
		if m == (knock.FlagMatch{}) {
			portRanges(a, c.tcp[m], ok, other)
		} else {
			flags := a.newLabel()
			portRanges(a, c.tcp[m], flags, other)
			a.place(flags)
			a.emit(bpf.LoadIndirect{Off: 13, Size: 1}, bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: uint32(m.Set | m.Clear)})
			a.jumpIf(bpf.JumpEqual, uint32(m.Set), ok, other)
		}
		a.place(other)
	}
	a.jumpTo(reject)
	a.place(ok)
	// Load the header's last byte: beyond the frame, the load rejects.
	a.emit(bpf.LoadIndirect{Off: 12, Size: 1},
		bpf.ALUOpConstant{Op: bpf.ALUOpShiftRight, Val: 4},
		bpf.ALUOpConstant{Op: bpf.ALUOpShiftLeft, Val: 2},
		bpf.ALUOpConstant{Op: bpf.ALUOpSub, Val: 1},
		bpf.ALUOpX{Op: bpf.ALUOpAdd}, bpf.TAX{},
		bpf.LoadIndirect{Off: 0, Size: 1})
	a.jumpTo(accept)
}

// udpPorts checks the UDP header at X against the UDP rules.
func (c *compiledFilter) udpPorts(a *asm, accept, reject label) {
	if len(c.udp) == 0 {
		a.jumpTo(reject)
		return
	}
	ok := a.newLabel()
	a.emit(bpf.LoadIndirect{Off: 2, Size: 2})
	portRanges(a, c.udp, ok, reject)
	a.place(ok)
	// The whole 8-byte header must be in the frame.
	a.emit(bpf.LoadIndirect{Off: 7, Size: 1})
	a.jumpTo(accept)
}

// portRanges jumps to in when A is one of ports, else to out. Runs of
// consecutive ports (the music doors' pitch ports) cost two comparisons.
func portRanges(a *asm, ports []uint16, in, out label) {
	ports = slices.Clone(ports)
	slices.Sort(ports)
	ports = slices.Compact(ports)
	for i := 0; i < len(ports); {
		lo := ports[i]
		hi := lo
		for i++; i < len(ports) && ports[i] == hi+1; i++ {
			hi++
		}
		if lo == hi {
			a.jumpIf(bpf.JumpEqual, uint32(lo), in, next)
			continue
		}
		other := a.newLabel()
		a.jumpIf(bpf.JumpGreaterOrEqual, uint32(lo), next, other)
		a.jumpIf(bpf.JumpGreaterThan, uint32(hi), other, in)
		a.place(other)
	}
	a.jumpTo(out)
}

// sortedFlagMatches orders the flag groups so that the program does not
// depend on map iteration order.
func sortedFlagMatches(m map[knock.FlagMatch][]uint16) []knock.FlagMatch {
	keys := make([]knock.FlagMatch, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y knock.FlagMatch) int {
		if x.Set != y.Set {
			return int(x.Set) - int(y.Set)
		}
		return int(x.Clear) - int(y.Clear)
	})
	return keys
}
