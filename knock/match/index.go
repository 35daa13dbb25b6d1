package match

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"net/netip"
)

// sourceIndex maps a source address to the first record of its list. It is
// an open-addressing table with linear probing and backward-shift deletion,
// sized once for the record cap: unlike a Go map it never grows, never
// leaves tombstones, and never allocates after construction, so a flood of
// random sources cannot make it use more memory or time than the cap allows.
//
// Slots hold record indices; the key is the record's src, so the table
// needs the record slab to compare keys. Each slot also keeps the low 32
// bits of its key's hash: a probe compares those first and reads the
// record only when they match, and a deletion finds an entry's home slot
// without reading its record, so under a flood of random sources, when
// every knock evicts a record, the table costs a cache miss or two where
// it cost one per probe (a third less time per knock at the cap,
// BenchmarkHandle).
type sourceIndex struct {
	slots []indexSlot
	mask  uint64
	// seed keys the hash so that an attacker who picks source addresses
	// cannot aim them all at one probe chain.
	seed [3]uint64
}

const empty = -1

// An indexSlot is a record index (or empty) and the low bits of the hash
// of that record's source.
type indexSlot struct {
	rec  int32
	hash uint32
}

func newSourceIndex(maxRecords int) sourceIndex {
	// Sources ≤ records ≤ maxRecords, so twice that keeps the load ≤ 1/2.
	size := 1
	for size < 2*maxRecords {
		size <<= 1
	}
	x := sourceIndex{
		slots: make([]indexSlot, size),
		mask:  uint64(size - 1),
		seed:  [3]uint64{rand.Uint64(), rand.Uint64(), rand.Uint64()},
	}
	x.clear()
	return x
}

func (x *sourceIndex) clear() {
	for i := range x.slots {
		x.slots[i] = indexSlot{rec: empty}
	}
}

func (x *sourceIndex) hash(a netip.Addr) uint64 {
	b := a.As16()
	hi := binary.LittleEndian.Uint64(b[:8]) ^ x.seed[0]
	lo := binary.LittleEndian.Uint64(b[8:]) ^ x.seed[1]
	h, l := bits.Mul64(hi, lo)
	h, l = bits.Mul64(h^l^x.seed[2], 0x9e3779b97f4a7c15)
	return h ^ l
}

// find returns the slot holding src and the record index stored there, or
// the empty slot where src would go and empty; and src's hash tag, for
// set.
func (x *sourceIndex) find(recs []record, src netip.Addr) (slot uint64, rec int32, tag uint32) {
	h := x.hash(src)
	tag = uint32(h)
	for slot = h & x.mask; ; slot = (slot + 1) & x.mask {
		s := x.slots[slot]
		if s.rec == empty || s.hash == tag && recs[s.rec].src == src {
			return slot, s.rec, tag
		}
	}
}

// set stores rec, of the source whose hash tag find gave, in slot as that
// source's first record.
func (x *sourceIndex) set(slot uint64, rec int32, tag uint32) {
	x.slots[slot] = indexSlot{rec: rec, hash: tag}
}

// remove empties slot and shifts later entries of its probe run back, so
// that every entry stays reachable from its home slot without tombstones.
func (x *sourceIndex) remove(slot uint64) {
	hole := slot
	for next := (hole + 1) & x.mask; ; next = (next + 1) & x.mask {
		s := x.slots[next]
		if s.rec == empty {
			break
		}
		home := uint64(s.hash) & x.mask
		// The entry at next may fill the hole if the hole lies on its
		// probe path, i.e. cyclically within [home, next).
		if (next-home)&x.mask >= (next-hole)&x.mask {
			x.slots[hole] = s
			hole = next
		}
	}
	x.slots[hole] = indexSlot{rec: empty}
}
