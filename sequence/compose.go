package sequence

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Validate reports whether p is a usable protocol: the tone, silence and
// play ports distinct and not 0; when PitchBase is not 0, the PitchPorts
// pitch ports within 1..65535 and clear of the other three; when NoteBase
// is not 0, the NotePorts note ports likewise and a note unit of
// MinNoteUnit to MaxNoteUnit; a step of MinStep to MaxStepLength; a default
// frequency of MinDefaultFreq to MaxFreq.
func (p Protocol) Validate() error {
	var errs []error
	ports := []struct {
		name string
		port uint16
	}{{"tone", p.TonePort}, {"silence", p.SilencePort}, {"play", p.PlayPort}}
	for i, a := range ports {
		if a.port == 0 {
			errs = append(errs, fmt.Errorf("%s port is 0: choose a port 1-65535", a.name))
		}
		for _, b := range ports[i+1:] {
			if a.port == b.port && a.port != 0 {
				errs = append(errs, fmt.Errorf("%s and %s ports are both %d: each knock needs its own port", a.name, b.name, a.port))
			}
		}
		if p.PitchBase != 0 && a.port >= p.PitchBase && int(a.port) <= int(p.PitchBase)+highestNote {
			errs = append(errs, fmt.Errorf("%s port %d lies among the pitch ports %d-%d", a.name, a.port, p.PitchBase, int(p.PitchBase)+highestNote))
		}
	}
	if p.PitchBase != 0 && int(p.PitchBase)+highestNote > 65535 {
		errs = append(errs, fmt.Errorf("pitch ports %d-%d run past 65535: lower the pitch base to at most %d", p.PitchBase, int(p.PitchBase)+highestNote, 65535-highestNote))
	}
	if p.NoteBase != 0 {
		noteHi := int(p.NoteBase) + NotePorts - 1
		if noteHi > 65535 {
			errs = append(errs, fmt.Errorf("note ports %d-%d run past 65535: lower the note base to at most %d", p.NoteBase, noteHi, 65536-NotePorts))
		}
		for _, a := range ports {
			if a.port >= p.NoteBase && int(a.port) <= noteHi {
				errs = append(errs, fmt.Errorf("%s port %d lies among the note ports %d-%d", a.name, a.port, p.NoteBase, noteHi))
			}
		}
		if p.PitchBase != 0 && int(p.PitchBase)+highestNote >= int(p.NoteBase) && int(p.PitchBase) <= noteHi {
			errs = append(errs, fmt.Errorf("pitch ports %d-%d overlap the note ports %d-%d", p.PitchBase, int(p.PitchBase)+highestNote, p.NoteBase, noteHi))
		}
		if p.NoteUnit < MinNoteUnit || p.NoteUnit > MaxNoteUnit {
			errs = append(errs, fmt.Errorf("note unit %v out of range: want %v to %v", p.NoteUnit, MinNoteUnit, MaxNoteUnit))
		}
	}
	if p.Step < MinStep || p.Step > MaxStepLength {
		errs = append(errs, fmt.Errorf("step %v out of range: want %v to %v", p.Step, MinStep, MaxStepLength))
	}
	if !(p.DefaultFreq >= MinDefaultFreq && p.DefaultFreq <= MaxFreq) {
		errs = append(errs, fmt.Errorf("default frequency %v Hz out of range: want %v to %v Hz", p.DefaultFreq, MinDefaultFreq, MaxFreq))
	}
	if len(errs) > 0 {
		return fmt.Errorf("sequence: music protocol: %w", errors.Join(errs...))
	}
	return nil
}

// Classify says which knock a packet to destination port is under p; ok is
// false for a port that is not part of the protocol. Pitch ports count only
// when PitchBase is not 0.
func (p Protocol) Classify(port uint16) (k Knock, ok bool) {
	switch {
	case port == 0:
		return Knock{}, false
	case port == p.TonePort:
		return Knock{Kind: KnockTone}, true
	case port == p.SilencePort:
		return Knock{Kind: KnockSilence}, true
	case port == p.PlayPort:
		return Knock{Kind: KnockPlay}, true
	case p.PitchBase != 0 && port >= p.PitchBase && int(port) <= int(p.PitchBase)+highestNote:
		return Knock{Kind: KnockPitch, Note: uint8(port - p.PitchBase)}, true
	case p.NoteBase != 0 && port >= p.NoteBase && int(port) < int(p.NoteBase)+NotePorts:
		return NoteKnock(port - p.NoteBase), true
	}
	return Knock{}, false
}

// ComposeOptions adjust Compose.
type ComposeOptions struct {
	// NoPitch sends no pitch knocks: the song arrives as rhythm only, at
	// the protocol's default frequency, as with the original three ports.
	NoPitch bool
	// Notes sends each note as one note knock (see NoteKnock), at the
	// protocol's NoteUnit, instead of one knock per Step. It needs the
	// protocol's note and pitch ports, and ignores NoPitch.
	Notes bool
}

// Compose turns a song into the knocks that make the daemon play it:
//
//   - each sounding tone becomes max(1, ⌊Length/Step + ½⌋) tone knocks,
//     so that no note is lost;
//   - its silence afterwards becomes ⌊Delay/Step + ½⌋ silence knocks; a
//     tone that sounds nothing (Length 0 or Freq 0) counts as silence;
//   - before a tone whose nearest MIDI note is not the current pitch comes
//     a pitch knock (none with NoPitch, or when the protocol has no pitch
//     ports); the first sounding tone always gets one, so the song does not
//     depend on the daemon's default frequency matching the client's;
//   - the play knock comes last.
//
// The daemon merges consecutive tone steps at one pitch into one tone. So
// that two repeated notes with no silence between them do not melt into
// one, the last step of the first becomes a silence step when it has two
// or more; with a single step there is nothing to spare and they merge.
//
// Compose fails if p is not valid, if the song has no tones, or if the
// plan would have more than MaxPlanSteps steps, which bounds the memory
// a hostile song can make it take. Whether a daemon keeps every step of a
// plan depends on its [music] max_steps (DefaultDaemonPoolSteps unless its
// config raises it): compare Plan.StepCount.
func Compose(tones []Tone, p Protocol, opts ComposeOptions) (Plan, error) {
	if err := p.Validate(); err != nil {
		return Plan{}, err
	}
	if len(tones) == 0 {
		return Plan{}, errors.New("sequence: compose: the song has no tones")
	}
	if opts.Notes {
		return composeNotes(tones, p)
	}
	pitched := !opts.NoPitch && p.PitchBase != 0
	plan := Plan{Protocol: p}
	pitch := p.DefaultFreq
	if pitched {
		pitch = 0 // unknown: the daemon's default may differ from p's
	}
	steps := 0
	runFreq, runSteps := 0.0, 0 // the tone steps just before, if no silence followed
	for i, t := range tones {
		silence := t.Delay
		if t.Length > 0 && t.Freq > 0 {
			if pitched {
				note := NearestNote(t.Freq)
				if f := NoteFreq(note); f != pitch {
					plan.Knocks = append(plan.Knocks, Knock{Kind: KnockPitch, Note: uint8(note)})
					pitch = f
				}
			}
			if runSteps >= 2 && runFreq == pitch {
				plan.Knocks[len(plan.Knocks)-1] = Knock{Kind: KnockSilence}
			}
			n := max(1, roundSteps(t.Length, p.Step))
			if steps += n; steps > MaxPlanSteps {
				return Plan{}, tooManySteps(i)
			}
			for range n {
				plan.Knocks = append(plan.Knocks, Knock{Kind: KnockTone})
			}
			runFreq, runSteps = pitch, n
		} else if t.Length > 0 {
			silence += t.Length
		}
		n := roundSteps(silence, p.Step)
		if n > 0 {
			runSteps = 0
		}
		if steps += n; steps > MaxPlanSteps {
			return Plan{}, tooManySteps(i)
		}
		for range n {
			plan.Knocks = append(plan.Knocks, Knock{Kind: KnockSilence})
		}
	}
	plan.Knocks = append(plan.Knocks, Knock{Kind: KnockPlay})
	return plan, nil
}

// composeNotes is Compose with note knocks:
//
//   - a pitch knock sets the base that note knocks count up from, chosen
//     as the lowest note of the longest run of notes ahead that spans at
//     most 30 semitones, so that most songs need one;
//   - each sounding tone becomes one note knock, its length and the rest
//     after it rounded to the nearest NoteUnit (a length of at least one
//     unit); a note longer than MaxNoteUnits units continues in more note
//     knocks of the same pitch with no rest between, which the pool merges
//     back into one tone; a rest longer than MaxRestUnits continues in rest
//     knocks;
//   - a note repeated with no rest between would merge with the one
//     before: that one gives up its last unit to a one-unit rest.
func composeNotes(tones []Tone, p Protocol) (Plan, error) {
	if p.NoteBase == 0 || p.PitchBase == 0 {
		return Plan{}, errors.New("sequence: compose: note knocks need the protocol's note ports and pitch ports")
	}
	plan := Plan{Protocol: p}
	base := -1 // unknown until the first pitch knock
	prevNote := -1
	units := func(d time.Duration) int {
		if d <= 0 {
			return 0
		}
		n := d / p.NoteUnit
		if rem := d - n*p.NoteUnit; rem >= p.NoteUnit-rem {
			n++
		}
		return int(min(n, MaxPlanSteps+1))
	}
	rest := func(u int) { // u units of silence, as rest knocks
		for u > 0 {
			l := min(u, MaxNoteUnits)
			r := min(u-l, MaxRestUnits)
			plan.Knocks = append(plan.Knocks, Knock{Kind: KnockNote, Note: NoteRestPitch, Length: uint8(l), Rest: uint8(r)})
			u -= l + r
		}
	}
	pending := 0 // units of silence not yet knocked
	for i, t := range tones {
		if len(plan.Knocks) > MaxPlanSteps {
			return Plan{}, tooManySteps(i)
		}
		if !(t.Length > 0 && t.Freq > 0) {
			pending += units(t.Length + t.Delay)
			prevNote = -1
			continue
		}
		note := NearestNote(t.Freq)
		if base < 0 || note < base || note-base >= NoteRestPitch {
			base = noteWindow(tones[i:])
			plan.Knocks = append(plan.Knocks, Knock{Kind: KnockPitch, Note: uint8(base)})
		}
		if pending > 0 {
			rest(pending)
			pending = 0
		} else if note == prevNote {
			// Give the note before a one-unit rest, so the two stay two.
			last := &plan.Knocks[len(plan.Knocks)-1]
			if last.Kind == KnockNote && last.Note != NoteRestPitch && last.Length > 1 && last.Rest == 0 {
				last.Length--
				last.Rest = 1
			}
		}
		length := max(1, units(t.Length))
		for length > MaxNoteUnits {
			plan.Knocks = append(plan.Knocks, Knock{Kind: KnockNote, Note: uint8(note - base), Length: MaxNoteUnits})
			length -= MaxNoteUnits
		}
		r := units(t.Delay)
		first := min(r, MaxRestUnits)
		plan.Knocks = append(plan.Knocks, Knock{Kind: KnockNote, Note: uint8(note - base), Length: uint8(length), Rest: uint8(first)})
		pending = r - first
		prevNote = note
		if r > 0 {
			prevNote = -1
		}
	}
	rest(pending)
	plan.Knocks = append(plan.Knocks, Knock{Kind: KnockPlay})
	return plan, nil
}

// noteWindow is the base for the notes of tones: the lowest note of the
// longest run from the first sounding tone that spans fewer than
// NoteRestPitch semitones.
func noteWindow(tones []Tone) int {
	lo, hi := highestNote, 0
	for _, t := range tones {
		if !(t.Length > 0 && t.Freq > 0) {
			continue
		}
		n := NearestNote(t.Freq)
		if max(hi, n)-min(lo, n) >= NoteRestPitch {
			break
		}
		lo, hi = min(lo, n), max(hi, n)
	}
	return lo
}

// tooManySteps is Compose's error for a song that passes MaxPlanSteps
// at tone i (counting from 0).
func tooManySteps(i int) error {
	return fmt.Errorf("sequence: compose: tone %d: the song needs more than %d steps, the most one plan may have "+
		"(a knockbeepd pool keeps %d unless its config raises [music] max_steps)",
		i+1, MaxPlanSteps, DefaultDaemonPoolSteps)
}

// DefaultDaemonPoolSteps is knockbeepd's [music] max_steps when its config
// does not set it: a music pool holds that many steps, and refuses the
// steps of a longer plan after them, so the play knock plays the song cut
// short. knock warns before sending such a plan.
const DefaultDaemonPoolSteps = 10000

// StepCount is the number of steps the plan adds to the daemon's pool:
// its tone and silence knocks.
func (pl Plan) StepCount() int {
	n := 0
	for _, k := range pl.Knocks {
		if k.Kind == KnockTone || k.Kind == KnockSilence {
			n++
		}
	}
	return n
}

// roundSteps is ⌊d/step + ½⌋, the number of steps nearest to d, halves
// rounded up, without overflow for any d.
func roundSteps(d, step time.Duration) int {
	if d <= 0 {
		return 0
	}
	n := d / step
	if rem := d - n*step; rem >= step-rem {
		n++
	}
	if n > MaxPlanSteps+1 {
		return MaxPlanSteps + 1
	}
	return int(n)
}

// Expected is what the daemon plays for the plan: its pool simulated knock
// by knock until the play knock (or the end), then compiled. A tone knock
// appends a tone step at the current pitch, a silence knock a silence step,
// a pitch knock sets the pitch to NoteFreq(note) (when the protocol has
// pitch ports); the pitch starts at DefaultFreq. A plan Compose made with
// pitch knocks sets the pitch before its first tone, so only plans
// without them sound at DefaultFreq: set pl.Protocol.DefaultFreq to the
// daemon's default_freq to hear what that daemon plays.
func (pl Plan) Expected() []Tone {
	p := pl.Protocol
	pitch := p.DefaultFreq
	var steps []PoolStep
	for _, k := range pl.Knocks {
		switch k.Kind {
		case KnockTone:
			steps = append(steps, PoolStep{Kind: StepTone, Freq: pitch, Length: p.Step})
		case KnockSilence:
			steps = append(steps, PoolStep{Kind: StepSilence, Length: p.Step})
		case KnockPitch:
			if p.PitchBase != 0 && int(k.Note) <= highestNote {
				pitch = NoteFreq(int(k.Note))
			}
		case KnockNote:
			if p.NoteBase != 0 {
				ns, n := p.NoteSteps(k, NearestNote(pitch))
				steps = append(steps, ns[:n]...)
			}
		case KnockPlay:
			return Compile(steps)
		}
	}
	return Compile(steps)
}

// Summary describes the plan for a person: runs of equal knocks ("tone ×4";
// a knock on its own has no count), then the totals. The Imperial March's
// begins
//
//	pitch G4, tone ×4, silence, tone ×4, silence, tone ×4, silence, pitch D#4, tone ×3, silence, ...
//	314 knocks: 171 tone, 82 silence, 60 pitch, 1 play; 253 steps of 100ms = 25.3s
func (pl Plan) Summary() string {
	var b strings.Builder
	var counts [KnockNote + 1]int
	rests := 0
	for i := 0; i < len(pl.Knocks); {
		k := pl.Knocks[i]
		j := i + 1
		for j < len(pl.Knocks) && pl.Knocks[j] == k {
			j++
		}
		if i > 0 {
			b.WriteString(", ")
		}
		switch k.Kind {
		case KnockTone:
			b.WriteString("tone")
		case KnockSilence:
			b.WriteString("silence")
		case KnockPitch:
			b.WriteString("pitch " + NoteName(int(k.Note)))
		case KnockPlay:
			b.WriteString("play")
		case KnockNote:
			u := pl.Protocol.NoteUnit
			if k.Note == NoteRestPitch {
				b.WriteString("rest " + (time.Duration(k.Length+k.Rest) * u).String())
				rests += j - i
			} else {
				b.WriteString("+" + strconv.Itoa(int(k.Note)) + " " + (time.Duration(k.Length) * u).String())
				if k.Rest > 0 {
					b.WriteString("/" + (time.Duration(k.Rest) * u).String())
				}
			}
		default:
			b.WriteString("knock(" + strconv.Itoa(int(k.Kind)) + ")")
		}
		if j-i > 1 {
			b.WriteString(" ×" + strconv.Itoa(j-i))
		}
		if int(k.Kind) < len(counts) {
			counts[k.Kind] += j - i
		}
		i = j
	}
	if counts[KnockNote] > 0 {
		fmt.Fprintf(&b, "\n%d knocks: %d note, %d rest, %d pitch, %d play; notes in units of %v",
			len(pl.Knocks), counts[KnockNote]-rests, rests, counts[KnockPitch], counts[KnockPlay], pl.Protocol.NoteUnit)
		return b.String()
	}
	steps := counts[KnockTone] + counts[KnockSilence]
	fmt.Fprintf(&b, "\n%d knocks: %d tone, %d silence, %d pitch, %d play; %d steps of %v = %v",
		len(pl.Knocks), counts[KnockTone], counts[KnockSilence], counts[KnockPitch], counts[KnockPlay],
		steps, pl.Protocol.Step, time.Duration(steps)*pl.Protocol.Step)
	return b.String()
}
