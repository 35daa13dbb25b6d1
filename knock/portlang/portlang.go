package portlang

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/knockbeep/knockbeep/knock"
)

// Version is the tag every derived message starts with. A change to the
// derivation gets a new tag, so that two versions never share a sequence.
const Version = "knockbeep port language 1"

// Purposes: what a stream is drawn for. Each purpose gives independent
// streams from one key.
const (
	PurposeDoor = "door" // a rotating door's sequence
)

// Params name one stream: for which purpose and name (a door's), in which
// period, and for which knocker when the door binds its sequences to the
// source address (Source is the zero Addr otherwise).
type Params struct {
	Purpose string
	Name    string
	Period  int64
	Source  netip.Addr
}

// Message is the stream's message before the block counter: the version
// tag, purpose and name, each followed by a zero byte; the period as 8
// bytes big-endian; then the source: the byte 0 when unbound, else 4 and
// the IPv4 address or 6 and the IPv6 address (an IPv4-mapped IPv6 address
// counts as IPv4; zones are dropped).
func Message(p Params) ([]byte, error) {
	if strings.IndexByte(p.Purpose, 0) >= 0 || strings.IndexByte(p.Name, 0) >= 0 {
		return nil, errors.New("portlang: a purpose or name may not hold a zero byte")
	}
	msg := make([]byte, 0, len(Version)+len(p.Purpose)+len(p.Name)+3+8+maxSourceLen)
	msg = append(msg, Version...)
	msg = append(msg, 0)
	msg = append(msg, p.Purpose...)
	msg = append(msg, 0)
	msg = append(msg, p.Name...)
	msg = append(msg, 0)
	msg = binary.BigEndian.AppendUint64(msg, uint64(p.Period))
	return appendSource(msg, p.Source), nil
}

// maxSourceLen is the longest source field: 6 and an IPv6 address.
const maxSourceLen = 1 + 16

// appendSource appends Message's source field for a to msg.
func appendSource(msg []byte, a netip.Addr) []byte {
	switch a = a.Unmap(); {
	case !a.IsValid():
		return append(msg, 0)
	case a.Is4():
		b := a.As4()
		return append(append(msg, 4), b[:]...)
	default:
		b := a.As16()
		return append(append(msg, 6), b[:]...)
	}
}

// A Stream is the keyed word stream of one Params: block i is
// HMAC-SHA256(key, Message || i as 4 bytes big-endian), for i = 0, 1, ...;
// the words are the blocks cut into 4-byte big-endian integers, in order.
type Stream struct {
	mac   hash.Hash
	msg   []byte // Message, then room for the block counter
	sum   []byte // the MAC's output; kept so that drawing allocates nothing
	block [sha256.Size]byte
	next  uint32 // the next block's counter
	pos   int    // the next word's offset in block; len(block) when used up
}

// NewStream returns the stream of p under key.
func NewStream(key []byte, p Params) (*Stream, error) {
	msg, err := Message(p)
	if err != nil {
		return nil, err
	}
	return newStream(key, msg), nil
}

func newStream(key, msg []byte) *Stream {
	return &Stream{mac: hmac.New(sha256.New, key), msg: msg, sum: make([]byte, 0, sha256.Size), pos: sha256.Size}
}

// Block returns block i of the stream.
func (s *Stream) Block(i uint32) [sha256.Size]byte {
	s.mac.Reset()
	n := len(s.msg)
	s.msg = binary.BigEndian.AppendUint32(s.msg, i)
	s.mac.Write(s.msg)
	s.msg = s.msg[:n]
	s.sum = s.mac.Sum(s.sum[:0])
	return [sha256.Size]byte(s.sum)
}

// restart rewinds the stream to its first word, for a new message.
func (s *Stream) restart(msg []byte) {
	s.msg, s.next, s.pos = msg, 0, len(s.block)
}

// Word returns the stream's next word.
func (s *Stream) Word() uint32 {
	if s.pos == len(s.block) {
		s.block = s.Block(s.next)
		s.next++
		s.pos = 0
	}
	w := binary.BigEndian.Uint32(s.block[s.pos:])
	s.pos += 4
	return w
}

// Uniform returns a number in [0, n) from the stream, uniformly: words at
// or above the largest multiple of n below 2^32 are skipped.
func (s *Stream) Uniform(n uint32) uint32 {
	limit := uint32((1 << 32) - (1<<32)%uint64(n))
	for {
		if w := s.Word(); limit == 0 || w < limit {
			return w % n
		}
	}
}

// maxWords bounds the words one sequence may draw: a sequence needs about
// its length in words, and a range too small for its length is refused
// before drawing, so the bound is never reached in practice.
const maxWords = 1 << 16

// A Shape is what a sequence looks like: its length, its port range
// (inclusive) and the protocols its steps may use.
type Shape struct {
	Length int
	Lo, Hi uint16
	Protos []knock.Proto // in this order, which must be the canonical one: tcp before udp
	// LastUDP makes the last step a UDP datagram whatever the draw gave
	// it: a door with reply = true answers to where that datagram came
	// from (docs/port-language.md, "Replies").
	LastUDP bool
}

// ShapeOf is the shape of a rotating door's sequences.
func ShapeOf(r *knock.Rotating) Shape {
	return Shape{Length: r.Length, Lo: r.PortLo, Hi: r.PortHi, Protos: r.Protos, LastUDP: r.Reply}
}

// Check reports what is wrong with sh, if anything.
func (sh Shape) Check() error {
	switch {
	case sh.Length < 1:
		return fmt.Errorf("length %d: a sequence needs at least one knock", sh.Length)
	case sh.Lo == 0 || sh.Hi < sh.Lo:
		return fmt.Errorf("port range %d-%d: give LOW-HIGH with 1 ≤ LOW ≤ HIGH ≤ 65535", sh.Lo, sh.Hi)
	case int(sh.Hi-sh.Lo)+1 < 2*sh.Length:
		return fmt.Errorf("port range %d-%d holds %d ports: too few for distinct ports in a sequence of %d (give at least twice the length)", sh.Lo, sh.Hi, int(sh.Hi-sh.Lo)+1, sh.Length)
	case len(sh.Protos) == 0:
		return errors.New("no protocol: give tcp, udp or tcp,udp")
	}
	for i, p := range sh.Protos {
		if p != knock.TCP && p != knock.UDP || i > 0 && p <= sh.Protos[i-1] {
			return errors.New("protocols: tcp, udp or tcp,udp (in that order)")
		}
	}
	return nil
}

// Sequence draws the sequence of p under key: with N = (Hi-Lo+1) × the
// number of protocols, each step is v = s.Uniform(N), port Lo + v / P and
// protocol Protos[v mod P] (P protocols); a step whose port is already in
// the sequence is drawn again, so the ports are distinct.
func Sequence(key []byte, p Params, sh Shape) ([]knock.Step, error) {
	if err := sh.Check(); err != nil {
		return nil, err
	}
	s, err := NewStream(key, p)
	if err != nil {
		return nil, err
	}
	seq := draw(s, sh, make([]knock.Step, 0, sh.Length))
	if seq == nil {
		return nil, errNoSequence
	}
	return seq, nil
}

var errNoSequence = errors.New("portlang: the stream gave no sequence (range too small?)")

// draw appends to dst the sequence of shape sh drawn from s, as Sequence
// says; nil if the stream gave none within maxWords words (a shape Check
// accepts never gets there).
func draw(s *Stream, sh Shape, dst []knock.Step) []knock.Step {
	np := uint32(len(sh.Protos))
	n := (uint32(sh.Hi-sh.Lo) + 1) * np
	seq := dst[:0]
	for draws := 0; len(seq) < sh.Length; draws++ {
		if draws == maxWords {
			return nil
		}
		v := s.Uniform(n)
		st := knock.Step{Port: sh.Lo + uint16(v/np), Proto: sh.Protos[v%np]}
		dup := false
		for _, o := range seq {
			dup = dup || o.Port == st.Port
		}
		if !dup {
			seq = append(seq, st)
		}
	}
	if sh.LastUDP {
		seq[len(seq)-1].Proto = knock.UDP
	}
	return seq
}

// A Deriver draws the sequences of one stream's parameters for any
// knocker's address: a door with bind_source has a sequence per source,
// which the matcher derives on the packet path, so drawing allocates
// nothing. It is not safe for concurrent use.
type Deriver struct {
	stream *Stream
	shape  Shape
	prefix []byte // Message up to and including the period; room for any source after it
}

// NewDeriver returns the Deriver of p (whose Source it ignores) and sh
// under key.
func NewDeriver(key []byte, p Params, sh Shape) (*Deriver, error) {
	if err := sh.Check(); err != nil {
		return nil, err
	}
	p.Source = netip.Addr{}
	msg, err := Message(p)
	if err != nil {
		return nil, err
	}
	prefix := slices.Grow(msg[:len(msg)-1], maxSourceLen+4) // less the unbound source byte; room for a source and the block counter
	return &Deriver{stream: newStream(key, prefix), shape: sh, prefix: prefix}, nil
}

// SequenceFor appends the sequence of src to buf and returns it (the
// derivation of Sequence with Params.Source = src). It allocates nothing
// once buf has room for Len steps, and returns buf[:0] in the case
// Sequence reports as an error, which a checked shape never meets.
func (d *Deriver) SequenceFor(src netip.Addr, buf []knock.Step) []knock.Step {
	d.stream.restart(appendSource(d.prefix, src))
	if seq := draw(d.stream, d.shape, buf); seq != nil {
		return seq
	}
	return buf[:0]
}

// Len is the length of every sequence d draws.
func (d *Deriver) Len() int { return d.shape.Length }

// PeriodAt is the number of the period holding t: the Unix time in whole
// seconds, divided by the period in seconds, rounded down.
func PeriodAt(t time.Time, period time.Duration) int64 {
	sec, per := t.Unix(), int64(period/time.Second)
	n := sec / per
	if sec%per < 0 {
		n--
	}
	return n
}

// PeriodStart is when period n begins.
func PeriodStart(n int64, period time.Duration) time.Time {
	return time.Unix(n*int64(period/time.Second), 0)
}

// ReplayID names a used stream in the replay cache: the first 16 bytes of
// SHA-256("knockbeep replay 1" 0 Message(p)). It does not depend on the
// key, so that with two keys (a rotation) a period's sequence is still
// used once.
func ReplayID(p Params) ([16]byte, error) {
	msg, err := Message(p)
	if err != nil {
		return [16]byte{}, err
	}
	h := sha256.New()
	h.Write([]byte("knockbeep replay 1\x00"))
	h.Write(msg)
	var id [16]byte
	copy(id[:], h.Sum(nil))
	return id, nil
}
