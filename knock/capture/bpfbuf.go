package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// bpfHdrLayout describes struct bpf_hdr (net/bpf.h) on one BSD
// architecture: a struct timeval, then the captured and original lengths
// and the header length, each record padded to a multiple of align
// (BPF_ALIGNMENT, sizeof(long)). The parsing stays portable so that it is
// tested on every system, FreeBSD or not.
type bpfHdrLayout struct {
	order             binary.ByteOrder
	secSize           int // tv_sec at 0: 4 or 8 bytes
	usecOff, usecSize int // tv_usec: 4 or 8 bytes
	caplenOff         int // uint32
	hdrlenOff         int // uint16
	align             int
}

// bpfLayoutLP64 is bpf_hdr on amd64, arm64 and riscv64: 8-byte time_t and
// suseconds_t, 8-byte alignment.
var bpfLayoutLP64 = bpfHdrLayout{order: binary.LittleEndian, secSize: 8, usecOff: 8, usecSize: 8, caplenOff: 16, hdrlenOff: 24, align: 8}

// bpfLayoutI386 is bpf_hdr on i386: 4-byte time_t and suseconds_t.
var bpfLayoutI386 = bpfHdrLayout{order: binary.LittleEndian, secSize: 4, usecOff: 4, usecSize: 4, caplenOff: 8, hdrlenOff: 16, align: 4}

func (l *bpfHdrLayout) word(b []byte, size int) int64 {
	if size == 4 {
		return int64(int32(l.order.Uint32(b)))
	}
	return int64(l.order.Uint64(b))
}

// bpfRecords walks the records of one read(2) from a BPF device.
type bpfRecords struct {
	layout *bpfHdrLayout
	buf    []byte
	off    int
}

var errBPFBuffer = errors.New("capture: malformed BPF read buffer")

// next returns the next record's frame and timestamp, or ok false at the
// end of the buffer. A record that does not fit the buffer ends it with
// an error.
func (r *bpfRecords) next() (data []byte, ts time.Time, ok bool, err error) {
	if r.off >= len(r.buf) {
		return nil, time.Time{}, false, nil
	}
	l := r.layout
	rec := r.buf[r.off:]
	minHdr := l.hdrlenOff + 2
	at := r.off
	if len(rec) < minHdr {
		r.off = len(r.buf)
		return nil, time.Time{}, false, fmt.Errorf("%w: %d bytes left at offset %d, less than a record header", errBPFBuffer, len(rec), at)
	}
	caplen := int(l.order.Uint32(rec[l.caplenOff:]))
	hdrlen := int(l.order.Uint16(rec[l.hdrlenOff:]))
	if hdrlen < minHdr || caplen > len(rec)-hdrlen {
		r.off = len(r.buf)
		return nil, time.Time{}, false, fmt.Errorf("%w: record at offset %d claims a %d-byte header and %d bytes of frame, with %d left", errBPFBuffer, at, hdrlen, caplen, len(rec))
	}
	sec := l.word(rec, l.secSize)
	usec := l.word(rec[l.usecOff:], l.usecSize)
	data = rec[hdrlen : hdrlen+caplen]
	// BPF_WORDALIGN: the next record starts aligned.
	r.off += (hdrlen + caplen + l.align - 1) &^ (l.align - 1)
	return data, time.Unix(sec, usec*1000), true, nil
}
