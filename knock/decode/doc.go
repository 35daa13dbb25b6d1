// Package decode turns captured frames into knock events.
//
// A frame comes from a live capture or a capture file together with its
// link type (what precedes the IP header): Ethernet with up to two VLAN
// tags, Linux cooked capture (SLL and SLL2, what tcpdump -i any records),
// BSD loopback (FreeBSD's lo0) or raw IP (what knockbeep's Linux capture
// delivers). Decoder.Decode walks the frame with a gopacket
// DecodingLayerParser over preallocated layers — link layer, IPv4 or IPv6
// with its extension headers, then TCP or UDP — and fills a knock.Event:
// source, destination, protocol, destination port and TCP flags.
//
// # Flow
//
//	frame bytes + LinkType ─► Decoder.Decode ─► knock.Event ─► (filter) ─► matcher
//
// Decode allocates nothing per frame once a Decoder has seen a few
// frames, so a capture can decode a flood without feeding the garbage
// collector. Frames that are not knocks (ARP, ICMP, later fragments,
// frames this host sent) are reported as such, malformed ones as errors;
// no input makes Decode panic.
//
// The kernel filter built by package capture makes the same decisions on
// the raw bytes; MaxIPv6ExtensionHeaders and the two-tag VLAN limit are
// shared so that the filter and the decoder never disagree about a knock.
package decode
