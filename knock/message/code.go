package message

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/portlang"
)

// Purposes of the port language's streams for messages
// (docs/port-language.md, "Messages", and "Songs under a secret").
const (
	PurposeMessage = "message"     // a text door's permutation of symbols onto knocks
	PurposeTag     = "message tag" // a text's authentication tag
	PurposeSong    = "song"        // the music doors' permutation, for songs
	PurposeSongTag = "song tag"    // a song's authentication tag
)

// SongDoor is the name under which the music doors' songs are derived
// (the door part of their streams): songs have their own purposes, so no
// message door's name can collide with it.
const SongDoor = "music"

// A Payload is what a frame carries: a text for a command, or a song
// (sequence.PackKnocks) for the music doors. Each has its own purposes,
// so a frame of one kind never verifies as the other.
type Payload uint8

const (
	Text Payload = iota // UTF-8, no zero byte: a door's message
	Song                // any bytes; the song parser checks them after the tag
)

// purposes are the streams of p's code and tag.
func (p Payload) purposes() (code, tag string) {
	if p == Song {
		return PurposeSong, PurposeSongTag
	}
	return PurposeMessage, PurposeTag
}

// check reports why payload cannot be one of p's, if it cannot.
func (p Payload) check(payload []byte) error {
	if p == Song {
		if len(payload) == 0 {
			return fmt.Errorf("%w (a song's packed knocks) is empty", ErrText)
		}
		return nil
	}
	return CheckText(payload)
}

// The frame's layout, in nibbles (4-bit halves of bytes, high half first).
const (
	headerNibbles = 6                 // L as 2 bytes, R as 1 byte
	dataStart     = 2 * headerNibbles // the header, then its copy
	TagBytes      = 8                 // the authentication tag after the text
	// MaxParity bounds R, the parity knocks of one message.
	MaxParity = 64
	// MaxSymbols bounds the knock values of a message door's range (ports
	// × protocols): the permutation is of 16-bit values.
	MaxSymbols = 1 << 16
	// MaxBytes bounds a message's text whatever the range holds: the
	// length is two bytes, and a longer message would take thousands of
	// knocks.
	MaxBytes = 4096
)

// Nibbles is the number of knocks of a message of n bytes with parity
// parity knocks: the header twice, the text and tag, the parity.
func Nibbles(n, parity int) int { return dataStart + 2*(n+TagBytes) + parity }

// A Code is one period's message language of one door: which knock
// carries which symbol (a nibble at a position in the frame), and the key
// that authenticates the frame. Building one draws a permutation of the
// door's range, about half a millisecond; a Code is then read only and
// safe for concurrent use.
type Code struct {
	kind   Payload
	key    []byte
	door   string
	period int64
	shape  portlang.Shape
	perm   []uint16 // symbol → value: the port's offset in the range × len(Protos) + the protocol's index
	inv    []uint16 // value → symbol
}

// NewCode returns the code of door's texts in period under key: its
// knocks fall in sh's range and protocols (sh.Length is not used).
func NewCode(key []byte, door string, period int64, sh portlang.Shape) (*Code, error) {
	return newCode(Text, key, door, period, sh)
}

// NewSongCode returns the code of the music doors' songs in period under
// key.
func NewSongCode(key []byte, period int64, sh portlang.Shape) (*Code, error) {
	return newCode(Song, key, SongDoor, period, sh)
}

func newCode(kind Payload, key []byte, door string, period int64, sh portlang.Shape) (*Code, error) {
	check := sh
	check.Length = 1
	if err := check.Check(); err != nil {
		return nil, err
	}
	n := (int(sh.Hi-sh.Lo) + 1) * len(sh.Protos)
	if n > MaxSymbols {
		return nil, fmt.Errorf("message: %d symbols: a range of at most %d ports with one protocol, or %d with two", n, MaxSymbols, MaxSymbols/2)
	}
	if n/16 < Nibbles(1, 0) {
		return nil, fmt.Errorf("message: port range %d-%d is too small for a message of one byte (%d knocks need %d ports)", sh.Lo, sh.Hi, Nibbles(1, 0), 16*Nibbles(1, 0))
	}
	purpose, _ := kind.purposes()
	s, err := portlang.NewStream(key, portlang.Params{Purpose: purpose, Name: door, Period: period})
	if err != nil {
		return nil, err
	}
	w, err := newWords(s.Block(0))
	if err != nil {
		return nil, err
	}
	c := &Code{kind: kind, key: key, door: door, period: period, shape: sh, perm: make([]uint16, n), inv: make([]uint16, n)}
	for i := range c.perm {
		c.perm[i] = uint16(i)
	}
	for i := n - 1; i > 0; i-- {
		j := w.uniform(uint32(i + 1))
		c.perm[i], c.perm[j] = c.perm[j], c.perm[i]
	}
	for sym, v := range c.perm {
		c.inv[v] = uint16(sym)
	}
	return c, nil
}

// words is the shuffle's source of numbers: the AES-256-CTR keystream
// under a key of 32 bytes (block 0 of the period's message stream), from
// a zero counter block, cut into 4-byte big-endian words. The HMAC stream
// would do, at a block per 8 words; drawing a permutation of 12,768
// symbols from it took 2.6 ms, from AES-CTR a few tens of µs.
type words struct {
	ctr cipher.Stream
	buf [4096]byte
	pos int
}

func newWords(seed [32]byte) (*words, error) {
	block, err := aes.NewCipher(seed[:])
	if err != nil {
		return nil, err
	}
	w := &words{ctr: cipher.NewCTR(block, make([]byte, aes.BlockSize))}
	w.pos = len(w.buf)
	return w, nil
}

func (w *words) word() uint32 {
	if w.pos == len(w.buf) {
		clear(w.buf[:])
		w.ctr.XORKeyStream(w.buf[:], w.buf[:])
		w.pos = 0
	}
	v := binary.BigEndian.Uint32(w.buf[w.pos:])
	w.pos += 4
	return v
}

// uniform draws below n as portlang's uniform draw does: words at or
// above the largest multiple of n below 2^32 are skipped.
func (w *words) uniform(n uint32) uint32 {
	limit := uint32((1 << 32) - (1<<32)%uint64(n))
	for {
		if v := w.word(); limit == 0 || v < limit {
			return v % n
		}
	}
}

// Period is the period c is the code of.
func (c *Code) Period() int64 { return c.period }

// MaxNibbles is how many positions the code's symbols can name: 16
// symbols (one per nibble value) per position.
func (c *Code) MaxNibbles() int { return len(c.perm) / 16 }

// MaxText is the longest text the code carries with parity parity knocks.
func (c *Code) MaxText(parity int) int { return maxText(c.MaxNibbles(), parity) }

// MaxText is the longest text a message door over sh's range and
// protocols carries with parity parity knocks (sh.Length is not used).
func MaxText(sh portlang.Shape, parity int) int {
	return maxText((int(sh.Hi-sh.Lo)+1)*len(sh.Protos)/16, parity)
}

func maxText(nibbles, parity int) int {
	return max(min((nibbles-dataStart-parity)/2-TagBytes, MaxBytes), 0)
}

// step is the knock that carries symbol sym.
func (c *Code) step(sym int) knock.Step {
	v := int(c.perm[sym])
	np := len(c.shape.Protos)
	return knock.Step{Port: c.shape.Lo + uint16(v/np), Proto: c.shape.Protos[v%np]}
}

// Decode returns the position and nibble a knock carries, or false for a
// knock outside the code's range and protocols.
func (c *Code) Decode(st knock.Step) (pos int, nibble uint8, ok bool) {
	if st.Port < c.shape.Lo || st.Port > c.shape.Hi {
		return 0, 0, false
	}
	for pi, p := range c.shape.Protos {
		if p == st.Proto {
			sym := int(c.inv[int(st.Port-c.shape.Lo)*len(c.shape.Protos)+pi])
			return sym / 16, uint8(sym % 16), true
		}
	}
	return 0, 0, false
}

// ErrText refuses a text a message cannot carry.
var ErrText = errors.New("message: the text")

// CheckText reports why text cannot be a message's, if it cannot: it must
// be UTF-8, hold no zero byte (it becomes one argument of a command) and
// not be empty.
func CheckText(text []byte) error {
	switch {
	case len(text) == 0:
		return fmt.Errorf("%w is empty", ErrText)
	case !utf8.Valid(text):
		return fmt.Errorf("%w is not valid UTF-8", ErrText)
	}
	for i, b := range text {
		if b == 0 {
			return fmt.Errorf("%w holds a zero byte at byte %d", ErrText, i)
		}
	}
	return nil
}

// Encode returns the knocks of text (a song's bytes under a song code)
// with parity parity knocks, in frame order (the daemon takes them in any
// order).
func (c *Code) Encode(text []byte, parity int) ([]knock.Step, error) {
	if err := c.kind.check(text); err != nil {
		return nil, err
	}
	if parity < 0 || parity > MaxParity {
		return nil, fmt.Errorf("message: %d parity knocks: give 0 to %d", parity, MaxParity)
	}
	if max := c.MaxText(parity); len(text) > max {
		return nil, fmt.Errorf("message: %d bytes: the door's port range carries at most %d with %d parity knocks", len(text), max, parity)
	}
	nibbles := c.frame(text, parity)
	steps := make([]knock.Step, len(nibbles))
	for pos, nb := range nibbles {
		steps[pos] = c.step(pos*16 + int(nb))
	}
	return steps, nil
}

// frame lays out the nibbles of text's frame: the header and its copy,
// the text and tag, the parity.
func (c *Code) frame(text []byte, parity int) []uint8 {
	header := []byte{byte(len(text) >> 8), byte(len(text)), byte(parity)}
	tag := c.tag(header, text)
	out := make([]uint8, 0, Nibbles(len(text), parity))
	for range 2 {
		out = appendNibbles(out, header)
	}
	out = appendNibbles(out, text)
	out = appendNibbles(out, tag[:])
	data := out[dataStart:]
	for j := range parity {
		out = append(out, parityOf(data, parity, j))
	}
	return out
}

func appendNibbles(out []uint8, b []byte) []uint8 {
	for _, x := range b {
		out = append(out, x>>4, x&15)
	}
	return out
}

// parityOf is parity nibble j of data: the XOR of the data nibbles whose
// offset is j modulo parity.
func parityOf(data []uint8, parity, j int) uint8 {
	var x uint8
	for k := j; k < len(data); k += parity {
		x ^= data[k]
	}
	return x
}

// tag is the frame's authentication: the first TagBytes of
// HMAC-SHA256(key, M(message tag, door, period) || header || text), with
// the purpose song tag for a song.
func (c *Code) tag(header, text []byte) [TagBytes]byte {
	_, purpose := c.kind.purposes()
	msg, _ := portlang.Message(portlang.Params{Purpose: purpose, Name: c.door, Period: c.period}) // the name was checked by NewCode
	mac := hmac.New(sha256.New, c.key)
	mac.Write(msg)
	mac.Write(header)
	mac.Write(text)
	var t [TagBytes]byte
	copy(t[:], mac.Sum(nil))
	return t
}
