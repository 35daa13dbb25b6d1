package decode

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/knockbeep/knockbeep/knock"
)

// PacketOutgoing is the Linux packet type (sll_pkttype, linux/if_packet.h)
// of a frame this host sent. Cooked captures record it; such a frame is
// never a knock, and on lo it is the second copy of every packet.
const PacketOutgoing = 4

// A Decoder turns captured frames into knock events. It owns one
// gopacket DecodingLayerParser per first layer, all sharing one set of
// preallocated layers, so decoding allocates nothing once warmed up.
// A Decoder is not safe for concurrent use: give each reader its own.
type Decoder struct {
	eth  ethernet
	vlan dot1q
	sll  linuxSLL
	sll2 linuxSLL2
	loop layers.Loopback
	ip4  ipv4
	ip6  ipv6
	tcp  tcp
	udp  layers.UDP

	ethernet, cooked, cooked2, loopback, rawIPv4, rawIPv6 *gopacket.DecodingLayerParser
	decoded                                               []gopacket.LayerType
}

// NewDecoder returns a Decoder for every supported link type.
func NewDecoder() *Decoder {
	d := &Decoder{decoded: make([]gopacket.LayerType, 0, 16)}
	parser := func(first gopacket.LayerType) *gopacket.DecodingLayerParser {
		p := gopacket.NewDecodingLayerParser(first)
		var dlc gopacket.DecodingLayerContainer = gopacket.DecodingLayerSparse(nil)
		for _, t := range []gopacket.LayerType{
			layers.LayerTypeEthernet, layers.LayerTypeDot1Q, layers.LayerTypeLinuxSLL, layers.LayerTypeLinuxSLL2, layers.LayerTypeLoopback,
			layers.LayerTypeIPv4, layers.LayerTypeIPv6, layers.LayerTypeTCP, layers.LayerTypeUDP,
		} {
			dlc = dlc.Put(d.layer(t))
		}
		p.SetDecodingLayerContainer(dlc)
		// Whatever follows the layers we know (payload, ICMP, ARP...)
		// simply ends decoding: Decode then sees no transport layer.
		p.IgnoreUnsupported = true
		return p
	}
	d.ethernet = parser(layers.LayerTypeEthernet)
	d.cooked = parser(layers.LayerTypeLinuxSLL)
	d.cooked2 = parser(layers.LayerTypeLinuxSLL2)
	d.loopback = parser(layers.LayerTypeLoopback)
	d.rawIPv4 = parser(layers.LayerTypeIPv4)
	d.rawIPv6 = parser(layers.LayerTypeIPv6)
	return d
}

// Decode decodes one frame of the given link type captured at ts. When
// the frame is a TCP or UDP packet over IPv4 or IPv6 received by this
// host, it fills ev and returns true. A well-formed frame that cannot be a
// knock (ARP, ICMP, a later fragment, a frame this host sent) gives false
// and no error; a malformed or truncated one gives an error saying what
// is wrong. Decode keeps no reference to data after it returns.
func (d *Decoder) Decode(link LinkType, data []byte, ts time.Time, ev *knock.Event) (bool, error) {
	var p *gopacket.DecodingLayerParser
	switch link {
	case LinkEthernet:
		p = d.ethernet
	case LinkLinuxSLL:
		p = d.cooked
	case LinkLinuxSLL2:
		p = d.cooked2
	case LinkNull, LinkLoop:
		p = d.loopback
	case LinkRaw:
		if len(data) == 0 {
			return false, fmt.Errorf("decode: empty %v frame", link)
		}
		switch data[0] >> 4 {
		case 4:
			p = d.rawIPv4
		case 6:
			p = d.rawIPv6
		default:
			return false, fmt.Errorf("decode: %v frame with IP version %d", link, data[0]>>4)
		}
	default:
		return false, fmt.Errorf("decode: unsupported link type %v", link)
	}
	if err := p.DecodeLayers(data, &d.decoded); err != nil {
		return false, fmt.Errorf("decode: %v frame of %d bytes, after %s: %w", link, len(data), d.lastLayer(), err)
	}

	var network, transport gopacket.LayerType
	vlans := 0
	for _, t := range d.decoded {
		switch t {
		case layers.LayerTypeDot1Q:
			vlans++
		case layers.LayerTypeLinuxSLL:
			if d.sll.PacketType == PacketOutgoing {
				return false, nil
			}
		case layers.LayerTypeLinuxSLL2:
			if d.sll2.PacketType == PacketOutgoing {
				return false, nil
			}
		case layers.LayerTypeIPv4, layers.LayerTypeIPv6:
			network = t
		case layers.LayerTypeTCP, layers.LayerTypeUDP:
			transport = t
		}
	}
	if vlans > 2 {
		// The kernel filter looks through two tags at most.
		return false, fmt.Errorf("decode: %v frame: %w", link, errTooManyVLANs)
	}

	if transport == 0 {
		// Decoding stops early either at a protocol that is no knock, or
		// because a header we decode was announced and the frame ended.
		if len(d.decoded) > 0 {
			last := d.layer(d.decoded[len(d.decoded)-1])
			if next := last.NextLayerType(); len(last.LayerPayload()) == 0 && d.layer(next) != nil {
				return false, fmt.Errorf("decode: %v frame of %d bytes ends before its %v header", link, len(data), next)
			}
		}
		return false, nil
	}
	switch network {
	case layers.LayerTypeIPv4:
		ev.Src = netip.AddrFrom4([4]byte(d.ip4.SrcIP))
		ev.Dst = netip.AddrFrom4([4]byte(d.ip4.DstIP))
	case layers.LayerTypeIPv6:
		ev.Src = netip.AddrFrom16(d.ip6.src)
		ev.Dst = netip.AddrFrom16(d.ip6.dst)
	}
	switch transport {
	case layers.LayerTypeTCP:
		ev.Proto, ev.Port, ev.Flags, ev.SrcPort = knock.TCP, d.tcp.dstPort, knock.TCPFlags(d.tcp.flags&0x3f), d.tcp.srcPort
	case layers.LayerTypeUDP:
		ev.Proto, ev.Port, ev.Flags, ev.SrcPort = knock.UDP, uint16(d.udp.DstPort), 0, uint16(d.udp.SrcPort)
	}
	ev.Time = ts
	return true, nil
}

// layer returns the Decoder's layer for t, or nil for a type it does not
// decode.
func (d *Decoder) layer(t gopacket.LayerType) gopacket.DecodingLayer {
	switch t {
	case layers.LayerTypeEthernet:
		return &d.eth
	case layers.LayerTypeDot1Q:
		return &d.vlan
	case layers.LayerTypeLinuxSLL:
		return &d.sll
	case layers.LayerTypeLinuxSLL2:
		return &d.sll2
	case layers.LayerTypeLoopback:
		return &d.loop
	case layers.LayerTypeIPv4:
		return &d.ip4
	case layers.LayerTypeIPv6:
		return &d.ip6
	case layers.LayerTypeTCP:
		return &d.tcp
	case layers.LayerTypeUDP:
		return &d.udp
	}
	return nil
}

// lastLayer names the layer decoding stopped in, for error messages.
func (d *Decoder) lastLayer() string {
	if len(d.decoded) == 0 {
		return "the start"
	}
	return d.decoded[len(d.decoded)-1].String()
}
