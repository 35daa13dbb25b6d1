package source

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/portlang"
)

// rotatingKind is a door whose sequence is derived from a secret and
// changes every period (docs/port-language.md).
var rotatingKind = kind{
	name:  "rotating",
	takes: func(d *knock.Door) bool { return d.Rotating != nil },
	open:  openRotating,
}

// rotating offers, at each moment, the sequences of the periods whose
// start window is near (see Current), less those already used.
type rotating struct {
	name    string
	r       knock.Rotating
	shape   portlang.Shape
	keys    [][]byte
	users   []string      // with user_keys: keys[i] is users[i]'s; nil with secret_file
	grace   time.Duration // how long after its window a period's sequence may still complete
	env     Env
	derived map[derivedKey]Sequence // Steps, or PerSource with bind_source
	// recent holds the period offsets of the last openings, newest last,
	// to tell a client's clock that is systematically off.
	recent []int64
	warned bool // the systematic offset was logged; reset once it is gone
	// noKeys, when set, is why the door has no key to open with now (a
	// fleet's users not read yet, or none).
	noKeys error
}

type derivedKey struct {
	period int64
	key    int
}

// offsetWindow is how many openings in a row must be off the same way
// before the daemon warns that clients' clocks are systematically off.
const offsetWindow = 4

func openRotating(d knock.Door, env Env) (Source, error) {
	if env.Replay == nil {
		return nil, errors.New("a rotating door needs the replay cache")
	}
	s := &rotating{name: d.Name, r: *d.Rotating, env: env, derived: map[derivedKey]Sequence{},
		shape: portlang.ShapeOf(d.Rotating)}
	if err := s.shape.Check(); err != nil {
		return nil, err
	}
	if s.r.Period < time.Second || s.r.Period%time.Second != 0 {
		return nil, fmt.Errorf("period %v: give whole seconds", s.r.Period)
	}
	for _, path := range d.Rotating.SecretFiles {
		key, err := portlang.ReadKeyFile(path)
		if err != nil {
			return nil, err
		}
		s.keys = append(s.keys, key)
	}
	if d.Rotating.FleetUsers {
		if env.FleetUsers == nil {
			return nil, errors.New("fleet_users needs the fleet of a [cluster] table")
		}
		users, caughtUp := env.FleetUsers()
		switch {
		case !caughtUp:
			s.noKeys = errors.New("the fleet's users' keys are not all read yet (revocations included): the door opens for no one until they are")
		case len(users) == 0:
			s.noKeys = errors.New("the fleet has no users: add one with knockbeepd --user-add NAME KEYFILE")
		default:
			s.addUsers(users)
		}
	}
	if d.Rotating.UserKeys != "" {
		users, err := portlang.ReadKeyDir(d.Rotating.UserKeys)
		if err != nil {
			return nil, err
		}
		s.addUsers(users)
	}
	// An attempt begun at the end of a window may take the door's timeout
	// to complete; a door without a timeout gets one period.
	s.grace = d.Timeout
	if s.grace <= 0 {
		s.grace = s.r.Period
	}
	return s, nil
}

// window is when an attempt at period q's sequence may begin: while the
// period of its first knock is within skew of q.
func (s *rotating) window(q int64) knock.Window {
	k := int64(s.r.Skew)
	return knock.Window{From: portlang.PeriodStart(q-k, s.r.Period), Until: portlang.PeriodStart(q+k+1, s.r.Period)}
}

// Current offers period q's sequence from Lead before its window opens
// until grace after it closes: early enough for the kernel filter and the
// matcher to know it before its first knock can arrive, long enough for
// an attempt begun in the window to complete. The matcher checks the
// window itself against each knock's time, so offering a sequence early
// or keeping it late opens nothing outside its window. A sequence already
// used stays offered: a replay of it then completes in the matcher and is
// refused by Used, which logs and counts it, so the operator sees it.
func (s *rotating) Current(now time.Time) ([]Sequence, time.Time, error) {
	if s.noKeys != nil {
		return nil, time.Time{}, s.noKeys
	}
	k := int64(s.r.Skew)
	first := portlang.PeriodAt(now.Add(-s.grace), s.r.Period) - k
	last := portlang.PeriodAt(now.Add(Lead), s.r.Period) + k
	var seqs []Sequence
	var next time.Time
	later := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for q := first - 1; q <= last+1; q++ {
		w := s.window(q)
		offered, until := w.From.Add(-Lead), w.Until.Add(s.grace)
		later(offered)
		later(until)
		if now.Before(offered) || !now.Before(until) {
			continue
		}
		for ki := range s.keys {
			seq, err := s.sequence(q, ki)
			if err != nil {
				return nil, time.Time{}, err
			}
			seq.Starts = w
			seqs = append(seqs, seq)
		}
	}
	for dk := range s.derived {
		if dk.period < first-1 {
			delete(s.derived, dk)
		}
	}
	return seqs, next, nil
}

func (s *rotating) params(q int64) portlang.Params {
	return portlang.Params{Purpose: portlang.PurposeDoor, Name: s.name, Period: q}
}

// sequence derives period q's sequence under key ki, once: its steps, or
// with bind_source the Deriver that gives each source its steps (the same
// one each time, so that the matcher keeps the attempts under way on it
// when the door set is rebuilt).
func (s *rotating) sequence(q int64, ki int) (Sequence, error) {
	dk := derivedKey{q, ki}
	if seq, ok := s.derived[dk]; ok {
		return seq, nil
	}
	seq := Sequence{ID: q, Key: ki}
	if s.r.BindSource {
		d, err := portlang.NewDeriver(s.keys[ki], s.params(q), s.shape)
		if err != nil {
			return Sequence{}, err
		}
		seq.PerSource = d
	} else {
		steps, err := portlang.Sequence(s.keys[ki], s.params(q), s.shape)
		if err != nil {
			return Sequence{}, err
		}
		seq.Steps = steps
	}
	s.derived[dk] = seq
	return seq, nil
}

// addUsers takes users' keys, each opening the door under its name.
func (s *rotating) addUsers(users []portlang.NamedKey) {
	for _, u := range users {
		s.keys, s.users = append(s.keys, u.Key), append(s.users, u.Name)
	}
}

// Used records the period's sequence in the replay cache, on disk, and
// refuses it if it was there: a replay, or a second source completing the
// same period's sequence (with bind_source each source has its own, and
// the record is of src's). A cache that cannot be written refuses too: an
// opening that could not be remembered could be replayed.
func (s *rotating) Used(seq Sequence, src netip.Addr, at time.Time) error {
	p := s.params(seq.ID)
	if s.r.BindSource {
		p.Source = src
	}
	if s.users != nil || s.r.FleetUsers {
		// Each user's sequence of a period opens once: one user's use
		// must not refuse another's. The user's name is not part of the
		// derivation (the client does not know it), only of the record.
		p.Name += "\x01user\x01" + s.KeyName(seq)
	}
	id, err := portlang.ReplayID(p)
	if err != nil {
		return err
	}
	added, err := s.env.Replay.Add(id, s.window(seq.ID).Until.Add(s.grace))
	if err != nil {
		s.env.Log(slog.LevelError, "replay cache: cannot record a use; the door stays closed", "door", s.name, "err", err)
		return err
	}
	if !added {
		return fmt.Errorf("period %d's %w", seq.ID, ErrReplayed)
	}
	s.noteOffset(seq.ID-portlang.PeriodAt(at, s.r.Period), src)
	return nil
}

// noteOffset logs how many periods off a client's clock was, and warns
// once when offsetWindow openings in a row were off the same way.
func (s *rotating) noteOffset(off int64, src netip.Addr) {
	if off != 0 {
		s.env.Log(slog.LevelInfo, "rotating door: the knocker's clock is off", "door", s.name, "src", src.WithZone(""),
			"periods", off, "about", time.Duration(off)*s.r.Period)
	}
	s.recent = append(s.recent, off)
	if len(s.recent) > offsetWindow {
		s.recent = s.recent[1:]
	}
	same := len(s.recent) == offsetWindow
	for _, o := range s.recent {
		same = same && o != 0 && (o > 0) == (s.recent[0] > 0)
	}
	switch {
	case same && !s.warned:
		s.warned = true
		s.env.Log(slog.LevelWarn, "rotating door: the last openings all came from clocks off the same way: check the clients' time (NTP), or give knock --time-offset",
			"door", s.name, "openings", offsetWindow, "last_periods", off, "period", s.r.Period)
	case !same:
		s.warned = false
	}
}

// KeyName names the user whose key derived seq; "" for a door with
// secret_file.
func (s *rotating) KeyName(seq Sequence) string {
	if seq.Key < 0 || seq.Key >= len(s.users) {
		return ""
	}
	return s.users[seq.Key]
}

// ReplyKey is the key that derived seq, when the door answers its knocks
// (reply = true): the answer is authenticated with the key the knocker
// used.
func (s *rotating) ReplyKey(seq Sequence) ([]byte, bool) {
	if !s.r.Reply || seq.Key < 0 || seq.Key >= len(s.keys) {
		return nil, false
	}
	return s.keys[seq.Key], true
}
