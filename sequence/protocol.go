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
}

// DefaultProtocol returns the original protocol's ports (1000, 1001, 1002) plus the pitch
// ports 2000..2127, 100 ms steps and 440 Hz.
func DefaultProtocol() Protocol {
	return Protocol{
		TonePort:    1000,
		SilencePort: 1001,
		PlayPort:    1002,
		PitchBase:   2000,
		Step:        100 * time.Millisecond,
		DefaultFreq: 440,
	}
}

// KnockKind says what a knock of a Plan does.
type KnockKind uint8

const (
	KnockTone    KnockKind = iota + 1 // one tone step at the current pitch
	KnockSilence                      // one silence step
	KnockPitch                        // set the pitch to Knock.Note, no step
	KnockPlay                         // play what was knocked in
)

// A Knock is one packet of a Plan.
type Knock struct {
	Kind KnockKind
	Note uint8 // MIDI note, for KnockPitch only
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
