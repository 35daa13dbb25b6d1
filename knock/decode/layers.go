package decode

import (
	"encoding/binary"
	"errors"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// MaxIPv6ExtensionHeaders bounds the walk over an IPv6 packet's extension
// headers. A packet with more before its TCP or UDP header is not a knock.
// The kernel filter unrolls the same number of steps, so the two agree.
const MaxIPv6ExtensionHeaders = 6

// IPv6 next-header values of the extension headers walked.
const (
	nextHopByHop    = 0
	nextRouting     = 43
	nextFragment    = 44
	nextDestination = 60
)

// Errors of our own layers, wrapped by Decode with the frame's details.
var (
	errIPv4Version   = errors.New("IPv4 header with a version other than 4")
	errIPv6Short     = errors.New("IPv6 header shorter than 40 bytes")
	errIPv6Version   = errors.New("IPv6 header with a version other than 6")
	errIPv6ExtShort  = errors.New("IPv6 extension header cut short")
	errTCPShort      = errors.New("TCP header shorter than 20 bytes")
	errTCPDataOffset = errors.New("TCP data offset below 5 words")
	errTCPOptionsCut = errors.New("TCP header options cut short")
	errTooManyVLANs  = errors.New("more than two VLAN tags")
)

// The link layers are gopacket's, following only the EtherTypes the
// kernel filter follows: gopacket also reads the reserved EtherType 0xffff
// as IPv4, and an 802.1ad tag goes on like an 802.1Q one.
type (
	ethernet  struct{ layers.Ethernet }
	dot1q     struct{ layers.Dot1Q }
	linuxSLL  struct{ layers.LinuxSLL }
	linuxSLL2 struct{ layers.LinuxSLL2 }
)

func (l *ethernet) NextLayerType() gopacket.LayerType  { return etherTypeLayer(l.EthernetType) }
func (l *dot1q) NextLayerType() gopacket.LayerType     { return etherTypeLayer(l.Type) }
func (l *linuxSLL) NextLayerType() gopacket.LayerType  { return etherTypeLayer(l.EthernetType) }
func (l *linuxSLL2) NextLayerType() gopacket.LayerType { return etherTypeLayer(l.ProtocolType) }

func etherTypeLayer(t layers.EthernetType) gopacket.LayerType {
	switch t {
	case layers.EthernetTypeIPv4:
		return layers.LayerTypeIPv4
	case layers.EthernetTypeIPv6:
		return layers.LayerTypeIPv6
	case layers.EthernetTypeDot1Q, layers.EthernetTypeQinQ:
		return layers.LayerTypeDot1Q
	}
	return gopacket.LayerTypePayload
}

// ipv4 is gopacket's IPv4 layer, stricter about the version and willing
// to go on into the first fragment of a fragmented packet, which carries
// the ports; later fragments do not and stop decoding.
type ipv4 struct {
	layers.IPv4
}

func (ip *ipv4) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) > 0 && data[0]>>4 != 4 {
		return errIPv4Version
	}
	return ip.IPv4.DecodeFromBytes(data, df)
}

func (ip *ipv4) NextLayerType() gopacket.LayerType {
	if ip.FragOffset != 0 {
		return gopacket.LayerTypeFragment
	}
	return transportLayer(ip.Protocol)
}

// ipv6 decodes the fixed IPv6 header and walks the extension headers
// (hop-by-hop, routing, destination options, fragment) up to the transport
// header, without allocating. gopacket's own IPv6 layer decodes hop-by-hop
// and destination options into heap-allocated structures, once per packet.
type ipv6 struct {
	src, dst [16]byte
	// next is the protocol of payload: TCP or UDP, or whatever stopped the
	// walk (another protocol, too many extension headers).
	next layers.IPProtocol
	// fragment is set when the packet is a fragment other than the first:
	// it has no transport header.
	fragment bool
	contents []byte
	payload  []byte
}

func (ip *ipv6) CanDecode() gopacket.LayerClass { return layers.LayerTypeIPv6 }
func (ip *ipv6) LayerPayload() []byte           { return ip.payload }

func (ip *ipv6) NextLayerType() gopacket.LayerType {
	if ip.fragment {
		return gopacket.LayerTypeFragment
	}
	return transportLayer(ip.next)
}

func (ip *ipv6) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 40 {
		df.SetTruncated()
		return errIPv6Short
	}
	if data[0]>>4 != 6 {
		return errIPv6Version
	}
	copy(ip.src[:], data[8:24])
	copy(ip.dst[:], data[24:40])
	ip.contents = data[:40]
	ip.fragment = false
	payload := data[40:]
	// The payload length covers the extension headers; bytes past it are a
	// link-layer trailer. Zero (a jumbogram) leaves the rest as payload.
	if n := int(binary.BigEndian.Uint16(data[4:6])); n != 0 {
		if n < len(payload) {
			payload = payload[:n]
		} else if n > len(payload) {
			df.SetTruncated()
		}
	}
	next := data[6]
	for walked := 0; ; walked++ {
		switch next {
		case nextHopByHop, nextRouting, nextDestination, nextFragment:
			if walked == MaxIPv6ExtensionHeaders {
				ip.next, ip.payload = layers.IPProtocol(next), payload
				return nil
			}
		}
		switch next {
		case nextHopByHop, nextRouting, nextDestination:
			if len(payload) < 2 {
				df.SetTruncated()
				return errIPv6ExtShort
			}
			n := (int(payload[1]) + 1) * 8
			if len(payload) < n {
				df.SetTruncated()
				return errIPv6ExtShort
			}
			next, payload = payload[0], payload[n:]
		case nextFragment:
			if len(payload) < 8 {
				df.SetTruncated()
				return errIPv6ExtShort
			}
			if binary.BigEndian.Uint16(payload[2:4])&0xfff8 != 0 {
				ip.fragment = true
				ip.next, ip.payload = layers.IPProtocol(payload[0]), payload[8:]
				return nil
			}
			next, payload = payload[0], payload[8:]
		default:
			ip.next, ip.payload = layers.IPProtocol(next), payload
			return nil
		}
	}
}

// tcp decodes the part of a TCP header a knock needs: ports and flags.
// gopacket's TCP layer also parses options, allocating for some (MPTCP).
type tcp struct {
	srcPort, dstPort uint16
	flags            uint8
	payload          []byte
}

func (t *tcp) CanDecode() gopacket.LayerClass    { return layers.LayerTypeTCP }
func (t *tcp) NextLayerType() gopacket.LayerType { return gopacket.LayerTypePayload }
func (t *tcp) LayerPayload() []byte              { return t.payload }

func (t *tcp) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 20 {
		df.SetTruncated()
		return errTCPShort
	}
	offset := int(data[12]>>4) * 4
	if offset < 20 {
		return errTCPDataOffset
	}
	if offset > len(data) {
		df.SetTruncated()
		return errTCPOptionsCut
	}
	t.srcPort = binary.BigEndian.Uint16(data[0:2])
	t.dstPort = binary.BigEndian.Uint16(data[2:4])
	t.flags = data[13]
	t.payload = data[offset:]
	return nil
}

// transportLayer maps the protocols a knock may use to their layer, and
// every other protocol to one no decoder handles, which ends decoding.
func transportLayer(p layers.IPProtocol) gopacket.LayerType {
	switch p {
	case layers.IPProtocolTCP:
		return layers.LayerTypeTCP
	case layers.IPProtocolUDP:
		return layers.LayerTypeUDP
	}
	return gopacket.LayerTypePayload
}
