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
// needs the record slab to compare keys.
type sourceIndex struct {
	slots []int32 // record index, or empty
	mask  uint64
	// seed keys the hash so that an attacker who picks source addresses
	// cannot aim them all at one probe chain.
	seed [3]uint64
}

const empty = -1

func newSourceIndex(maxRecords int) sourceIndex {
	// Sources ≤ records ≤ maxRecords, so twice that keeps the load ≤ 1/2.
	size := 1
	for size < 2*maxRecords {
		size <<= 1
	}
	x := sourceIndex{
		slots: make([]int32, size),
		mask:  uint64(size - 1),
		seed:  [3]uint64{rand.Uint64(), rand.Uint64(), rand.Uint64()},
	}
	x.clear()
	return x
}

func (x *sourceIndex) clear() {
	for i := range x.slots {
		x.slots[i] = empty
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
// the empty slot where src would go and empty.
func (x *sourceIndex) find(recs []record, src netip.Addr) (slot uint64, rec int32) {
	slot = x.hash(src) & x.mask
	for {
		rec = x.slots[slot]
		if rec == empty || recs[rec].src == src {
			return slot, rec
		}
		slot = (slot + 1) & x.mask
	}
}

// remove empties slot and shifts later entries of its probe run back, so
// that every entry stays reachable from its home slot without tombstones.
func (x *sourceIndex) remove(recs []record, slot uint64) {
	hole := slot
	for next := (hole + 1) & x.mask; ; next = (next + 1) & x.mask {
		rec := x.slots[next]
		if rec == empty {
			break
		}
		home := x.hash(recs[rec].src) & x.mask
		// The entry at next may fill the hole if the hole lies on its
		// probe path, i.e. cyclically within [home, next).
		if (next-home)&x.mask >= (next-hole)&x.mask {
			x.slots[hole] = rec
			hole = next
		}
	}
	x.slots[hole] = empty
}
