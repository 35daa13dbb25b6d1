package capture

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// asm builds a classic BPF program with symbolic forward jumps. Classic
// BPF's conditional jumps reach at most 255 instructions ahead; a program
// with many ports or addresses needs longer ones, so a conditional jump
// whose target is too far becomes a short conditional jump onto an
// unconditional one (which reaches anywhere), decided when assembling.
type asm struct {
	items  []asmItem
	labels []int // label -> index in items of its definition, -1 until placed
}

// A label names a place in the program. next is the instruction that
// follows, the implicit target of a conditional jump's other branch.
type label int

const next label = -1

type asmItem struct {
	ins  bpf.Instruction // a plain instruction, or nil
	cond *asmJump        // a conditional jump
	jump label           // an unconditional jump when ins and cond are nil and place < 0
	// place, when >= 0, makes this item the definition of that label.
	place label
}

type asmJump struct {
	test        bpf.JumpTest
	val         uint32
	true, false label
}

func newAsm() *asm { return &asm{} }

func (a *asm) newLabel() label {
	a.labels = append(a.labels, -1)
	return label(len(a.labels) - 1)
}

// place defines l at the current position.
func (a *asm) place(l label) {
	a.labels[l] = len(a.items)
	a.items = append(a.items, asmItem{place: l})
}

func (a *asm) emit(ins ...bpf.Instruction) {
	for _, in := range ins {
		a.items = append(a.items, asmItem{ins: in, place: -1})
	}
}

// jumpIf jumps to t when "A test val" holds, else to f.
func (a *asm) jumpIf(test bpf.JumpTest, val uint32, t, f label) {
	a.items = append(a.items, asmItem{cond: &asmJump{test: test, val: val, true: t, false: f}, place: -1})
}

// jumpTo jumps unconditionally to l.
func (a *asm) jumpTo(l label) {
	a.items = append(a.items, asmItem{jump: l, place: -1})
}

// assemble resolves the labels and returns the raw program.
func (a *asm) assemble() ([]bpf.RawInstruction, error) {
	for l, at := range a.labels {
		if at < 0 {
			return nil, fmt.Errorf("capture: internal error: filter label %d never placed", l)
		}
	}
	// far[i] tells, for the conditional jump at item i, which branches
	// need an unconditional jump of their own. Growing a jump only moves
	// targets further away, so iterating until nothing changes ends.
	type reach struct{ t, f bool }
	far := make([]reach, len(a.items))
	var pos []int
	for {
		pos = a.positions(func(i int) int {
			n := 1
			if far[i].t {
				n++
			}
			if far[i].f {
				n++
			}
			return n
		})
		changed := false
		for i, it := range a.items {
			if it.cond == nil {
				continue
			}
			if !far[i].t && a.distance(pos, i, it.cond.true) > 255 {
				far[i].t, changed = true, true
			}
			if !far[i].f && a.distance(pos, i, it.cond.false) > 255 {
				far[i].f, changed = true, true
			}
		}
		if !changed {
			break
		}
	}

	var prog []bpf.Instruction
	for i, it := range a.items {
		switch {
		case it.place >= 0:
		case it.ins != nil:
			prog = append(prog, it.ins)
		case it.cond != nil:
			c := it.cond
			at := pos[i]
			// Trampolines follow the conditional jump: first the one for
			// the true branch, then the one for the false branch.
			tramp := at + 1
			skipT, skipF := a.target(pos, i, c.true)-(at+1), a.target(pos, i, c.false)-(at+1)
			var jumps []bpf.Instruction
			if far[i].t {
				skipT = tramp - (at + 1)
				jumps = append(jumps, bpf.Jump{Skip: uint32(a.target(pos, i, c.true) - (tramp + 1))})
				tramp++
			}
			if far[i].f {
				skipF = tramp - (at + 1)
				jumps = append(jumps, bpf.Jump{Skip: uint32(a.target(pos, i, c.false) - (tramp + 1))})
			}
			if skipT < 0 || skipF < 0 || skipT > 255 || skipF > 255 {
				return nil, fmt.Errorf("capture: internal error: filter jump out of range")
			}
			prog = append(prog, bpf.JumpIf{Cond: c.test, Val: c.val, SkipTrue: uint8(skipT), SkipFalse: uint8(skipF)})
			prog = append(prog, jumps...)
		default:
			if a.rawDistance(i, it.jump) == 0 {
				continue // a jump to the next instruction is no jump
			}
			d := a.target(pos, i, it.jump) - (pos[i] + 1)
			if d < 0 {
				return nil, fmt.Errorf("capture: internal error: backward jump in filter")
			}
			prog = append(prog, bpf.Jump{Skip: uint32(d)})
		}
	}
	if len(prog) > bpfMaxInstructions {
		return nil, fmt.Errorf("capture: filter needs %d instructions, more than the kernel's limit of %d: use fewer ports or addresses", len(prog), bpfMaxInstructions)
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("capture: internal error assembling the filter: %w", err)
	}
	return raw, nil
}

// bpfMaxInstructions is BPF_MAXINSNS (linux/bpf_common.h); FreeBSD's
// BPF_MAXINSNS is 512 by default, checked where the filter is set.
const bpfMaxInstructions = 4096

// positions computes the instruction index each item starts at, given
// the size of each conditional jump, plus the total at the end.
func (a *asm) positions(condSize func(i int) int) []int {
	pos := make([]int, len(a.items)+1)
	n := 0
	for i, it := range a.items {
		pos[i] = n
		switch {
		case it.place >= 0:
		case it.ins != nil:
			n++
		case it.cond != nil:
			n += condSize(i)
		default:
			// Unconditional jumps to the very next instruction vanish;
			// counting them anyway would only make distances larger, but
			// positions must match what assemble emits.
			if a.rawDistance(i, it.jump) > 0 {
				n++
			}
		}
	}
	pos[len(a.items)] = n
	return pos
}

// rawDistance tells whether an unconditional jump at item i to l skips any
// instruction, independent of jump sizes: it skips one when an item
// between them emits something.
func (a *asm) rawDistance(i int, l label) int {
	at := a.labels[l]
	n := 0
	for j := i + 1; j < at; j++ {
		if a.items[j].place < 0 {
			n++
		}
	}
	return n
}

// target is the position of label l as seen from the jump at item i.
func (a *asm) target(pos []int, i int, l label) int {
	if l == next {
		return pos[i+1]
	}
	return pos[a.labels[l]]
}

// distance is how many instructions a short conditional jump at item i
// would skip to reach l.
func (a *asm) distance(pos []int, i int, l label) int {
	return a.target(pos, i, l) - (pos[i] + 1)
}
