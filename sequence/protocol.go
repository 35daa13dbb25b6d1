package sequence

import "time"

// Protocol is the music protocol shared by the daemon and the client: which
// destination port means what, and how long one step lasts. The defaults,
// DefaultProtocol, are the table in docs/architecture.md.
type Protocol struct {
	TonePort    uint16        // append one tone step at the current pitch
	SilencePort uint16        // append one silence step
	PlayPort    uint16        // compile the pool, play it, start a new one
	PitchBase   uint16        // PitchBase+n sets the pitch to MIDI note n (0..127); 0 disables pitch knocks
	Step        time.Duration // the length of one step
	DefaultFreq float64       // the pitch, in hertz, until a pitch knock sets one
	// NoteBase is the first of the NotePorts note ports: a knock there is
	// a whole note, its pitch, length and the rest after it (see
	// NoteKnock); 0 disables note knocks.
	NoteBase uint16
	// NoteUnit is the time resolution of note knocks: lengths and rests
	// are whole numbers of it.
	NoteUnit time.Duration
}

// Note knocks: the port's offset from NoteBase packs three 5-bit fields,
//
//	offset = pitch<<10 | (length-1)<<5 | rest
//
// pitch: the note's MIDI number minus the current pitch's (set by a pitch
// knock, PitchBase+n), 0..30; NoteRestPitch (31) makes the knock a rest
// lasting length+rest units. length: 1..32 units of NoteUnit. rest: the
// silence after the note, 0..31 units. A longer note is knocked as notes
// of the same pitch with no rest between, which the pool merges into one
// tone; a longer rest as rest knocks.
const (
	NotePorts      = 1 << 15
	NoteRestPitch  = 31 // the pitch field of a rest knock
	MaxNoteUnits   = 32 // the longest length field, in units
	MaxRestUnits   = 31 // the longest rest field, in units
	MaxNoteUnit    = time.Second
	noteFieldBits  = 5
	noteFieldMask  = 1<<noteFieldBits - 1
	noteLengthBits = noteFieldBits
	notePitchShift = 2 * noteFieldBits
)

// Limits of a music protocol beyond those of a pool step (MaxStepLength,
// MaxFreq) and of note knocks (MaxNoteUnit). Protocol.Validate applies
// them, and the daemon's config check applies the same constants to name
// the key at fault.
const (
	// MinStep and MinNoteUnit: the player cannot time anything shorter
	// than a millisecond.
	MinStep     = time.Millisecond
	MinNoteUnit = time.Millisecond
	// MinDefaultFreq: the PC speaker's divider covers roughly 19 Hz to
	// 20 kHz, and the default pitch is what the original protocol's
	// monotone songs play at.
	MinDefaultFreq = 20.0
	// PitchPorts is how many ports pitch knocks take from PitchBase on:
	// one for each MIDI note, 0 to 127.
	PitchPorts = highestNote + 1
)

// DefaultProtocol returns the original protocol's ports (1000, 1001, 1002)
// plus the pitch ports 2000..2127, 100 ms steps and 440 Hz, and note knocks
// on 32768..65535 at 25 ms.
func DefaultProtocol() Protocol {
	return Protocol{
		TonePort:    1000,
		SilencePort: 1001,
		PlayPort:    1002,
		PitchBase:   2000,
		Step:        100 * time.Millisecond,
		DefaultFreq: 440,
		NoteBase:    32768,
		NoteUnit:    25 * time.Millisecond,
	}
}

// KnockKind says what a knock of a Plan does.
type KnockKind uint8

const (
	KnockTone    KnockKind = iota + 1 // one tone step at the current pitch
	KnockSilence                      // one silence step
	KnockPitch                        // set the pitch to Knock.Note, no step
	KnockPlay                         // play what was knocked in
	KnockNote                         // a whole note: Knock.Note (relative pitch), Length and Rest
)

// A Knock is one packet of a Plan.
type Knock struct {
	Kind KnockKind
	// Note is the MIDI note of a KnockPitch, or a KnockNote's pitch above
	// the current pitch (NoteRestPitch: a rest).
	Note uint8
	// Length (1..MaxNoteUnits) and Rest (0..MaxRestUnits) are a
	// KnockNote's, in units of Protocol.NoteUnit.
	Length, Rest uint8
}

// Port is the destination port that carries k under p.
func (k Knock) Port(p Protocol) uint16 {
	switch k.Kind {
	case KnockTone:
		return p.TonePort
	case KnockSilence:
		return p.SilencePort
	case KnockPitch:
		return p.PitchBase + uint16(k.Note)
	case KnockNote:
		return p.NoteBase + noteOffset(k)
	default:
		return p.PlayPort
	}
}

// A Plan is a song composed into knocks, in the order they must arrive; the
// play knock is last.
type Plan struct {
	Protocol Protocol
	Knocks   []Knock
}

// NoteSteps is what the note knock k appends to a pool when the current
// pitch is MIDI note base: a tone and, when k has a rest, the silence after
// it; for a rest knock, one silence. The steps are steps[:n]; n is 0 for a
// note above the highest MIDI note, which appends nothing. Returning an
// array keeps the daemon's knock path free of allocations.
func (p Protocol) NoteSteps(k Knock, base int) (steps [2]PoolStep, n int) {
	length := time.Duration(k.Length) * p.NoteUnit
	rest := time.Duration(k.Rest) * p.NoteUnit
	if k.Note == NoteRestPitch {
		steps[0] = PoolStep{Kind: StepSilence, Length: length + rest}
		return steps, 1
	}
	note := base + int(k.Note)
	if note > highestNote || length <= 0 {
		return steps, 0
	}
	steps[0] = PoolStep{Kind: StepTone, Freq: NoteFreq(note), Length: length}
	n = 1
	if rest > 0 {
		steps[1] = PoolStep{Kind: StepSilence, Length: rest}
		n = 2
	}
	return steps, n
}
