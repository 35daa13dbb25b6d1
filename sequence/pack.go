package sequence

import (
	"errors"
	"fmt"
)

// A song's knocks packed into bytes, for the music doors under a secret:
// the whole song then travels as one authenticated frame of the port
// language (package message, docs/port-language.md "Songs under a
// secret"), not one port per knock. The packing is the knocks of a Plan
// without its play knock (the frame arriving whole is the play):
//
//	0lllllll llllllll   a note knock: the 15-bit offset a note port has
//	                    from NoteBase (pitch<<10 | (length-1)<<5 | rest)
//	10nnnnnn            n+1 tone steps (1..64) at the current pitch
//	11nnnnnn            n+1 silence steps (1..63); 11111111 is not one:
//	11111111 0ppppppp   a pitch knock: MIDI note p
//
// Runs are what keeps the original protocol's songs short: the Imperial
// March's 253 steps pack into a byte per run of equal steps.
const (
	packStepRun     = 0x80 // 10nnnnnn: tone steps
	packSilenceRun  = 0xC0 // 11nnnnnn: silence steps
	packPitch       = 0xFF // then the MIDI note
	packRunMask     = 0x3F
	maxToneRun      = packRunMask + 1 // 64
	maxSilenceRun   = packRunMask     // 63: 0xFF is the pitch prefix
	packedNoteBytes = 2
)

// ErrPacked refuses bytes that are not a packed song.
var ErrPacked = errors.New("sequence: packed song")

// PackKnocks packs knocks, a Plan's without or with its final play knock,
// into bytes for UnpackKnocks. A play knock anywhere else is refused: a
// packed song is one song.
func PackKnocks(knocks []Knock) ([]byte, error) {
	if n := len(knocks); n > 0 && knocks[n-1].Kind == KnockPlay {
		knocks = knocks[:n-1]
	}
	out := make([]byte, 0, len(knocks))
	for i := 0; i < len(knocks); i++ {
		k := knocks[i]
		switch k.Kind {
		case KnockNote:
			if k.Length < 1 || k.Length > MaxNoteUnits || k.Rest > MaxRestUnits || k.Note > NoteRestPitch {
				return nil, fmt.Errorf("%w: knock %d: note %d, length %d, rest %d is not a note knock", ErrPacked, i+1, k.Note, k.Length, k.Rest)
			}
			off := noteOffset(k)
			out = append(out, byte(off>>8), byte(off))
		case KnockPitch:
			if int(k.Note) > highestNote {
				return nil, fmt.Errorf("%w: knock %d: pitch %d is not a MIDI note (0..%d)", ErrPacked, i+1, k.Note, highestNote)
			}
			out = append(out, packPitch, k.Note)
		case KnockTone, KnockSilence:
			prefix, most := byte(packStepRun), maxToneRun
			if k.Kind == KnockSilence {
				prefix, most = packSilenceRun, maxSilenceRun
			}
			run := 1
			for i+run < len(knocks) && knocks[i+run].Kind == k.Kind && run < most {
				run++
			}
			out = append(out, prefix|byte(run-1))
			i += run - 1
		default:
			return nil, fmt.Errorf("%w: knock %d: a play knock before the end", ErrPacked, i+1)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no knocks to pack", ErrPacked)
	}
	return out, nil
}

// noteOffset is a note knock's offset from NoteBase.
func noteOffset(k Knock) uint16 {
	return uint16(k.Note)<<notePitchShift | uint16(k.Length-1)<<noteLengthBits | uint16(k.Rest)
}

// UnpackKnocks reads bytes PackKnocks made back into knocks, without the
// play knock. It never panics on any input: anything else is refused with
// the byte at fault.
func UnpackKnocks(b []byte) ([]Knock, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrPacked)
	}
	var out []Knock
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c < packStepRun:
			if i+packedNoteBytes > len(b) {
				return nil, fmt.Errorf("%w: byte %d: a note knock cut short", ErrPacked, i+1)
			}
			off := uint16(c)<<8 | uint16(b[i+1])
			out = append(out, NoteKnock(off))
			i += packedNoteBytes
		case c == packPitch:
			if i+1 >= len(b) {
				return nil, fmt.Errorf("%w: byte %d: a pitch knock cut short", ErrPacked, i+1)
			}
			if int(b[i+1]) > highestNote {
				return nil, fmt.Errorf("%w: byte %d: pitch %d is not a MIDI note (0..%d)", ErrPacked, i+2, b[i+1], highestNote)
			}
			out = append(out, Knock{Kind: KnockPitch, Note: b[i+1]})
			i += 2
		default:
			kind := KnockTone
			if c >= packSilenceRun {
				kind = KnockSilence
			}
			for range int(c&packRunMask) + 1 {
				out = append(out, Knock{Kind: kind})
			}
			i++
		}
	}
	return out, nil
}

// NoteKnock is the note knock whose port is NoteBase+off (off below
// NotePorts).
func NoteKnock(off uint16) Knock {
	return Knock{Kind: KnockNote, Note: uint8(off >> notePitchShift), Length: uint8(off>>noteLengthBits&noteFieldMask) + 1, Rest: uint8(off & noteFieldMask)}
}
