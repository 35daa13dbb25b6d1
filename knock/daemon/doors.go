package daemon

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/config"
	"github.com/knockbeep/knockbeep/knock/match"
	"github.com/knockbeep/knockbeep/knock/source"
)

// A doorSet is the configured doors as the matcher sees them: each door's
// source, and one matcher door per sequence a source offers now (a
// rotating door has one per period within its skew; a door whose source
// offers none keeps one slot with no sequence, so that it keeps its
// place).
type doorSet struct {
	sources []source.Source // by configured door
	doors   []knock.Door    // the matcher's doors
	origin  []slot          // by matcher door
	next    time.Time       // when some source's answer changes by itself; zero: never
	builtAt time.Time       // the time the set was last computed for
	errs    []string        // by configured door: the last Current error logged
	// messages are the message doors' assemblers (nil without any): they
	// take the knocks in their ranges before the matcher sees them.
	messages *messageDoors
}

// A slot says where a matcher door comes from.
type slot struct {
	door int // index into the configured doors
	seq  source.Sequence
}

// newDoorSet builds the sources of cfg's doors and their matcher doors at
// now, and the assemblers of its message doors and of the music doors'
// songs under a secret.
func newDoorSet(cfg *config.Config, env source.Env, now time.Time) (*doorSet, error) {
	doors := cfg.Doors
	s := &doorSet{sources: make([]source.Source, len(doors)), errs: make([]string, len(doors))}
	for i, d := range doors {
		src, err := source.New(d, env)
		if err != nil {
			return nil, fmt.Errorf("daemon: door %q: %w", d.Name, err)
		}
		s.sources[i] = src
	}
	var err error
	messageDoors := doors
	if songs, ok := cfg.Music.SongDoor(); ok {
		messageDoors = append(slices.Clip(doors), songs)
	}
	if s.messages, err = newMessageDoors(messageDoors); err != nil {
		return nil, err
	}
	s.expand(doors, now, env.Log)
	return s, nil
}

// expand asks every source for its sequences at now and lays out the
// matcher's doors.
func (s *doorSet) expand(doors []knock.Door, now time.Time, log func(slog.Level, string, ...any)) {
	s.doors, s.origin, s.next, s.builtAt = s.doors[:0:0], s.origin[:0:0], time.Time{}, now
	for i, src := range s.sources {
		seqs, next, err := src.Current(now)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if msg != s.errs[i] && msg != "" {
			log(slog.LevelError, "door cannot open now", "door", doors[i].Name, "err", err)
		}
		s.errs[i] = msg
		if !next.IsZero() && (s.next.IsZero() || next.Before(s.next)) {
			s.next = next
		}
		if len(seqs) == 0 {
			seqs = []source.Sequence{{}}
		}
		for _, seq := range seqs {
			d := doors[i]
			d.Sequence, d.PerSource, d.Starts = seq.Steps, seq.PerSource, seq.Starts
			s.doors = append(s.doors, d)
			s.origin = append(s.origin, slot{door: i, seq: seq})
		}
	}
}

// due reports whether the set must be computed again at now: a source's
// answer has changed, or (replaying a file) time went back.
func (s *doorSet) due(now time.Time) bool {
	return !s.next.IsZero() && (!now.Before(s.next) || now.Before(s.builtAt))
}

// install gives m the doors of s, which were old before: sequences that
// changed in place (a one-time door's next line) through SetSequence,
// which drops attempts at the old sequence and keeps cooldowns; any other
// change (a rotating door's periods moving on) through Reload, which
// carries over the attempts of every sequence still offered.
func (s *doorSet) install(m *match.Matcher, old []knock.Door) (changed bool) {
	inPlace := len(old) == len(s.doors)
	for i := 0; inPlace && i < len(old); i++ {
		o, n := &old[i], &s.doors[i]
		if o.Name != n.Name || o.Starts != n.Starts || o.PerSource != n.PerSource {
			inPlace = false
		} else if !slices.Equal(o.Sequence, n.Sequence) && slices.ContainsFunc(s.doors, func(d knock.Door) bool {
			return d.Name == o.Name && slices.Equal(d.Sequence, o.Sequence)
		}) {
			inPlace = false // the old sequence is still offered, elsewhere
		}
	}
	if !inPlace {
		m.Reload(s.doors)
		return true
	}
	for i := range old {
		if !slices.Equal(old[i].Sequence, s.doors[i].Sequence) {
			m.SetSequence(i, s.doors[i].Sequence)
			changed = true
		}
	}
	return changed
}

// filterSteps is what of doors the kernel filter depends on: the steps of
// the doors that do not rotate (a rotating door's whole range passes,
// whatever its current sequences), so that a rotating door's period
// boundary does not rebuild the filter.
func filterSteps(doors []knock.Door) string {
	var b strings.Builder
	for _, d := range doors {
		if d.Rotating != nil {
			continue
		}
		for _, st := range d.Sequence {
			fmt.Fprintf(&b, "%d/%d,", st.Port, st.Proto)
		}
		b.WriteByte(';')
	}
	return b.String()
}
