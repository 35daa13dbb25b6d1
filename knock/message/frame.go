package message

import (
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/knockbeep/knockbeep/knock"
)

// A frame collects the nibbles of one message as decoded under one code,
// in whatever order and with whatever repeats they arrive.
type frame struct {
	code *Code
	key  int    // the index of the code's key in the assembler's keys
	nib  []int8 // by position: the nibble, unknown (-1) or conflicted (-2)
	got  int    // positions known
	bad  int    // knocks that named a known position with another nibble
	read bool   // a header was read that fits the range, acceptable or not
	hdr  bool   // the header is known and acceptable: n and parity are set
	n    int    // the text's length in bytes
	par  int    // parity knocks
	miss int    // data positions (text and tag) still unknown, once hdr
	err  error  // why the frame can never be a message; nil while it may
	text []byte // the text, once the frame verified
}

// reset makes f an empty frame of code c.
func (f *frame) reset(c *Code, key int) {
	f.code, f.key = c, key
	if cap(f.nib) < c.MaxNibbles() {
		f.nib = make([]int8, c.MaxNibbles())
	}
	f.nib = f.nib[:c.MaxNibbles()]
	for i := range f.nib {
		f.nib[i] = -1
	}
	f.got, f.bad, f.read, f.hdr, f.n, f.par, f.miss, f.err, f.text = 0, 0, false, false, 0, 0, 0, nil, nil
}

// repeats reports whether knock st, decoded by the frame's code, is one of
// its message's knocks: a nibble it holds at that position.
func (f *frame) repeats(st knock.Step) bool {
	pos, nb, ok := f.code.Decode(st)
	return ok && f.hdr && pos < f.total() && f.nib[pos] == int8(nb)
}

// total is the frame's length in nibbles, once the header is known.
func (f *frame) total() int { return Nibbles(f.n, f.par) }

// add records one knock's nibble at pos; afterwards f.text is set when
// the frame holds a verified message, f.err when it can never hold one.
func (f *frame) add(pos int, nb uint8, maxBytes int) {
	if f.err != nil || f.text != nil || pos >= len(f.nib) {
		return
	}
	switch old := f.nib[pos]; {
	case old == int8(nb) || old == conflicted:
		return // a repeat, or a position already in doubt: nothing new
	case old >= 0:
		// Two knocks name this position with different nibbles: one is
		// not the sender's (a spoofed or stray knock, which may come
		// first). Neither is trusted; the position becomes an erasure,
		// which the header's other copy or the parity recovers.
		f.bad++
		f.nib[pos] = conflicted
		f.got--
		if f.hdr && f.isData(pos) {
			f.miss++
		}
		return
	}
	f.nib[pos] = int8(nb)
	f.got++
	if !f.hdr {
		if pos < dataStart {
			f.readHeader(maxBytes)
		}
		return
	}
	if f.isData(pos) {
		f.miss--
	}
	if f.miss <= f.par {
		f.finish()
	}
}

// conflicted marks a position two knocks gave different nibbles.
const conflicted = -2

// isData reports whether pos holds a nibble of the text or the tag, once
// the header is known.
func (f *frame) isData(pos int) bool { return pos >= dataStart && pos < dataStart+2*(f.n+TagBytes) }

// readHeader takes the header once each of its nibbles is known from
// either copy. Copies that disagree (neither in doubt) wait: one of them
// may be a stray knock that the sender's own will put in doubt.
func (f *frame) readHeader(maxBytes int) {
	var h [headerNibbles]uint8
	for i := range h {
		a, b := f.nib[i], f.nib[headerNibbles+i]
		switch {
		case a < 0 && b < 0:
			return
		case a >= 0 && b >= 0 && a != b:
			return
		case a >= 0:
			h[i] = uint8(a)
		default:
			h[i] = uint8(b)
		}
	}
	n := int(h[0])<<12 | int(h[1])<<8 | int(h[2])<<4 | int(h[3])
	par := int(h[4])<<4 | int(h[5])
	f.read = n > 0 && par <= MaxParity && Nibbles(n, par) <= len(f.nib)
	switch {
	case n == 0:
		f.err = errors.New("its header announces an empty text")
		return
	case n > maxBytes:
		f.err = fmt.Errorf("its header announces %d bytes, more than the door's max_bytes (%d)", n, maxBytes)
		return
	case par > MaxParity || Nibbles(n, par) > len(f.nib):
		f.err = fmt.Errorf("its header announces %d bytes and %d parity knocks, more than the port range carries", n, par)
		return
	}
	f.hdr, f.n, f.par = true, n, par
	for pos := dataStart; pos < dataStart+2*(n+TagBytes); pos++ {
		if f.nib[pos] < 0 { // unknown or in doubt
			f.miss++
		}
	}
	// Knocks already taken beyond the frame's end were not this frame's.
	for pos := f.total(); pos < len(f.nib); pos++ {
		if f.nib[pos] >= 0 {
			f.bad++
		}
	}
	if f.miss <= f.par {
		f.finish()
	}
}

// finish recovers what the parity can and verifies the frame when every
// data nibble is known.
func (f *frame) finish() {
	data := f.nib[dataStart : dataStart+2*(f.n+TagBytes)]
	if f.miss > 0 {
		for k, nb := range data {
			if nb >= 0 {
				continue
			}
			j := k % f.par
			p := f.nib[dataStart+len(data)+j]
			if p < 0 {
				return // this class's parity has not arrived (yet)
			}
			x := uint8(p)
			for o := j; o < len(data); o += f.par {
				if o != k {
					if data[o] < 0 {
						return // two missing in one class: wait, or it expires
					}
					x ^= uint8(data[o])
				}
			}
			data[k] = int8(x)
			f.miss--
		}
	}
	raw := make([]byte, f.n+TagBytes)
	for i := range raw {
		raw[i] = byte(data[2*i])<<4 | byte(data[2*i+1])
	}
	text, tag := raw[:f.n], raw[f.n:]
	want := f.code.tag([]byte{byte(f.n >> 8), byte(f.n), byte(f.par)}, text)
	if subtle.ConstantTimeCompare(tag, want[:]) != 1 {
		f.err = errors.New("its tag does not match (another key or period, or altered on the way)")
		return
	}
	if err := f.code.kind.check(text); err != nil {
		f.err = err
		return
	}
	f.text = text
}

// headerDisagrees reports whether the header's copies hold different
// nibbles at a position.
func (f *frame) headerDisagrees() bool {
	for i := range headerNibbles {
		if a, b := f.nib[i], f.nib[headerNibbles+i]; a >= 0 && b >= 0 && a != b {
			return true
		}
	}
	return false
}

// progress says how far the frame got, for a log line.
func (f *frame) progress() string {
	switch {
	case f.err != nil:
		return f.err.Error()
	case !f.hdr && f.headerDisagrees():
		return fmt.Sprintf("its header's two copies disagree (%d knocks)", f.got)
	case !f.hdr:
		return fmt.Sprintf("its header never arrived (%d knocks)", f.got)
	case f.bad > 0:
		return fmt.Sprintf("%d of its %d data knocks missing, more than its %d parity knocks recover (one per class); %d knocks disagreed with ones before them (sent by someone else?)", f.miss, 2*(f.n+TagBytes), f.par, f.bad)
	default:
		return fmt.Sprintf("%d of its %d data knocks missing, more than its %d parity knocks recover (one per class)", f.miss, 2*(f.n+TagBytes), f.par)
	}
}
