// Package decodetest holds real and crafted frames of every link type
// that package decode supports, with the knock each one is (or the fact
// that it is none), so that the decoder, the kernel filter and the
// capture path are tested against the same packets.
package decodetest

import (
	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/decode"
)

// A Frame is one captured frame and what it decodes to.
type Frame struct {
	Name string
	Link decode.LinkType
	Data []byte
	// Knock tells whether the frame is a TCP or UDP packet received by
	// this host, which decoding turns into Want (whose Time is left zero).
	Knock bool
	Want  knock.Event
}
