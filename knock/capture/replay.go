package capture

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/decode"
)

// pcapngMagic starts a pcapng file (its section header block type).
const pcapngMagic = 0x0a0d0d0a

// Replay reads a capture file (pcap or pcapng) and calls handle with every
// knock in it that f accepts: the same decoding and the same decision as a
// live capture, with the file's timestamps. Undecodable frames are
// counted and skipped. It returns at the end of the file, or when ctx
// ends (with ctx's error).
func Replay(ctx context.Context, r io.Reader, f Filter, handle func(*knock.Event)) (Counters, error) {
	cf, err := compile(f)
	if err != nil {
		return Counters{}, err
	}
	return replay(ctx, r, cf.match, handle)
}

// ReplayAll is Replay without a filter: handle gets every TCP and UDP
// packet in the file. It is for a caller that checks each event itself
// with a Matcher that may change while the file plays (the daemon's
// filter follows reloads and one-time sequences).
func ReplayAll(ctx context.Context, r io.Reader, handle func(*knock.Event)) (Counters, error) {
	return replay(ctx, r, nil, handle)
}

// replay is Replay with accept deciding which events are knocks; nil
// accepts every event.
func replay(ctx context.Context, r io.Reader, accept func(*knock.Event) bool, handle func(*knock.Event)) (Counters, error) {
	var n Counters
	br := bufio.NewReader(r)
	magic, err := br.Peek(4)
	if err != nil {
		return n, fmt.Errorf("capture: replay: reading the file header: %w", err)
	}
	var (
		read   func() ([]byte, gopacket.CaptureInfo, error)
		linkOf func(ci gopacket.CaptureInfo) (decode.LinkType, error)
	)
	if binary.BigEndian.Uint32(magic) == pcapngMagic {
		opts := pcapgo.DefaultNgReaderOptions
		// Without this the reader silently skips packets of interfaces
		// whose link type differs from the first one's.
		opts.WantMixedLinkType = true
		ng, err := pcapgo.NewNgReader(br, opts)
		if err != nil {
			return n, fmt.Errorf("capture: replay: not a readable pcapng file: %w", err)
		}
		read = ng.ZeroCopyReadPacketData
		linkOf = func(ci gopacket.CaptureInfo) (decode.LinkType, error) {
			ifc, err := ng.Interface(ci.InterfaceIndex)
			if err != nil {
				return 0, fmt.Errorf("capture: replay: packet on unknown interface %d: %w", ci.InterfaceIndex, err)
			}
			return supportedLink(decode.LinkType(ifc.LinkType))
		}
	} else {
		pr, err := pcapgo.NewReader(br)
		if err != nil {
			return n, fmt.Errorf("capture: replay: not a pcap or pcapng file: %w", err)
		}
		link, err := supportedLink(decode.LinkType(pr.LinkType()))
		if err != nil {
			return n, err
		}
		read = pr.ZeroCopyReadPacketData
		linkOf = func(gopacket.CaptureInfo) (decode.LinkType, error) { return link, nil }
	}

	dec := decode.NewDecoder()
	var ev knock.Event
	done := ctx.Done()
	for {
		select {
		case <-done:
			return n, ctx.Err()
		default:
		}
		data, ci, err := read()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("capture: replay: after %d packets: %w", n.Packets, err)
		}
		n.Packets++
		link, err := linkOf(ci)
		if err != nil {
			return n, err
		}
		ok, err := dec.Decode(link, data, ci.Timestamp, &ev)
		if err != nil {
			n.DecodeErrors++
			continue
		}
		if ok && (accept == nil || accept(&ev)) {
			n.Events++
			handle(&ev)
		}
	}
}

func supportedLink(l decode.LinkType) (decode.LinkType, error) {
	if !l.Supported() {
		return 0, fmt.Errorf("capture: replay: link type %v is not one knockbeep decodes (%v)", l, decode.LinkTypes)
	}
	return l, nil
}
