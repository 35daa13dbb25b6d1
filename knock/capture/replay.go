package capture

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/decode"
)

// pcapngMagic starts a pcapng file (its section header block type).
const pcapngMagic = 0x0a0d0d0a

// fileSource is the name a capture file has in Stats.
const fileSource = "file"

// OpenFile returns a Capture that reads a capture file (pcap or pcapng)
// instead of interfaces: Run reads it through the same decoding and the
// same Filter as a live capture, with the file's timestamps, and returns
// at its end. There is no kernel filter: SetFilter changes the check of
// the packets still to come. Undecodable frames are counted and skipped;
// a file cut short ends Run with an error, as do a file that is neither
// pcap nor pcapng and one whose link type the decoder does not know: the
// header is read by Run, not OpenFile, as the file may be a pipe whose
// writer is not there yet. If r is an io.Closer, it is closed when Run's context ends, so that a
// read blocked on a pipe returns; it is not closed otherwise.
func OpenFile(r io.Reader, f Filter, opts Options) (*Capture, error) {
	cf, err := compile(f)
	if err != nil {
		return nil, err
	}
	fr := &fileRing{r: r}
	c := newCapture(cf, opts)
	if cl, ok := r.(io.Closer); ok {
		c.interrupt = func() { cl.Close() }
	}
	c.addSource(fileSource, fr)
	return c, nil
}

// Replay reads a capture file (pcap or pcapng) and calls handle with every
// knock in it that f accepts: OpenFile and Run. It returns what the
// capture counted at the end of the file, or when ctx ends (with ctx's
// error).
func Replay(ctx context.Context, r io.Reader, f Filter, handle func(*knock.Event)) (Counters, error) {
	c, err := OpenFile(r, f, Options{})
	if err != nil {
		return Counters{}, err
	}
	ended, err := c.run(ctx, handle, nil)
	n := c.Stats().Total()
	if err == nil && !ended {
		err = ctx.Err()
	}
	return n, err
}

// fileRing reads a pcap or pcapng file as a ring: the frames in file
// order, each with the link type of its interface and its timestamp.
type fileRing struct {
	r      io.Reader // until the header is read
	read   func() ([]byte, gopacket.CaptureInfo, error)
	linkOf func(ci gopacket.CaptureInfo) (decode.LinkType, error)
	n      uint64 // frames read
}

// start reads the file's header and sets up the reading of its packets.
func (fr *fileRing) start() error {
	br := bufio.NewReader(fr.r)
	fr.r = nil
	magic, err := br.Peek(4)
	if err != nil {
		return fmt.Errorf("capture: replay: reading the file header: %w", err)
	}
	if binary.BigEndian.Uint32(magic) == pcapngMagic {
		opts := pcapgo.DefaultNgReaderOptions
		// Without this the reader silently skips packets of interfaces
		// whose link type differs from the first one's.
		opts.WantMixedLinkType = true
		ng, err := pcapgo.NewNgReader(br, opts)
		if err != nil {
			return fmt.Errorf("capture: replay: not a readable pcapng file: %w", err)
		}
		fr.read = ng.ZeroCopyReadPacketData
		fr.linkOf = func(ci gopacket.CaptureInfo) (decode.LinkType, error) {
			ifc, err := ng.Interface(ci.InterfaceIndex)
			if err != nil {
				return 0, fmt.Errorf("capture: replay: packet on unknown interface %d: %w", ci.InterfaceIndex, err)
			}
			return supportedLink(decode.LinkType(ifc.LinkType))
		}
		return nil
	}
	pr, err := pcapgo.NewReader(br)
	if err != nil {
		return fmt.Errorf("capture: replay: not a pcap or pcapng file: %w", err)
	}
	link, err := supportedLink(decode.LinkType(pr.LinkType()))
	if err != nil {
		return err
	}
	fr.read = pr.ZeroCopyReadPacketData
	fr.linkOf = func(gopacket.CaptureInfo) (decode.LinkType, error) { return link, nil }
	return nil
}

func (r *fileRing) next() ([]byte, decode.LinkType, time.Time, error) {
	if r.read == nil {
		if err := r.start(); err != nil {
			return nil, 0, time.Time{}, &endError{err}
		}
	}
	data, ci, err := r.read()
	if errors.Is(err, io.EOF) {
		return nil, 0, time.Time{}, io.EOF
	}
	if err != nil {
		return nil, 0, time.Time{}, &endError{fmt.Errorf("capture: replay: after %d packets: %w", r.n, err)}
	}
	r.n++
	link, err := r.linkOf(ci)
	if err != nil {
		return nil, 0, time.Time{}, &endError{err}
	}
	return data, link, ci.Timestamp, nil
}

// setFilter has nothing to do: a file has no kernel filter, and the
// capture checks every packet against its current Filter.
func (r *fileRing) setFilter(*compiledFilter) error { return nil }

func (r *fileRing) drops() (uint64, error) { return 0, nil }

func (r *fileRing) close() error { return nil }

func supportedLink(l decode.LinkType) (decode.LinkType, error) {
	if !l.Supported() {
		return 0, fmt.Errorf("capture: replay: link type %v is not one knockbeep decodes (%v)", l, decode.LinkTypes)
	}
	return l, nil
}
