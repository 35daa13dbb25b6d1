package source

import (
	"errors"
	"log/slog"
	"net/netip"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/portlang"
)

// A Sequence is one sequence a door accepts now.
type Sequence struct {
	Steps []knock.Step
	// PerSource, when set, derives the sequence of each knocker (a door
	// with bind_source); Steps is then empty.
	PerSource knock.SourceSequence
	// Starts bounds when an attempt at this sequence may begin (the zero
	// Window: always); the matcher checks the first knock's time against
	// it.
	Starts knock.Window
	// ID tells the sequence apart to its source (a rotating door's period
	// number); 0 for sources with one sequence at a time.
	ID int64
	// Key is the index of the secret it was derived from, for doors with
	// two keys during a rotation.
	Key int
}

// A Source is where a door's sequences come from.
type Source interface {
	// Current returns the sequences the matcher must know at now: those
	// an attempt may begin with from now until Lead later, each with the
	// window its first knock must fall in, and those an attempt begun
	// earlier may still complete. next is when the answer changes by
	// itself; the zero time means only a Used changes it. An error means
	// the door cannot open now (a one-time file used up): the daemon logs
	// it when it changes and the door has no sequence until it changes.
	Current(now time.Time) (seqs []Sequence, next time.Time, err error)
	// Used is called when seq opened the door for src, at the time of the
	// knock that completed it, before the door's action runs. An error
	// refuses the opening (ErrReplayed: the sequence was already used).
	// The daemon calls Current again afterwards.
	Used(seq Sequence, src netip.Addr, at time.Time) error
}

// A Replier is a Source whose door answers completed knocks (a rotating
// door with reply = true): ReplyKey gives the key to authenticate the
// answer to seq with, and false when the door does not answer.
type Replier interface {
	ReplyKey(seq Sequence) ([]byte, bool)
}

// A KeyNamer is a Source whose sequences come from users' own keys (a
// rotating door with user_keys): KeyName names the user whose key
// derived seq, for the log and the audit, or "".
type KeyNamer interface {
	KeyName(seq Sequence) string
}

// Lead is how far ahead of now Current includes sequences: more than the
// daemon's tick, so that the matcher and the kernel filter know a
// period's sequence before its first knock can arrive.
const Lead = 3 * time.Second

// ErrReplayed refuses a sequence that was already used.
var ErrReplayed = errors.New("sequence already used (a replay)")

// Env is what a Source may use from the daemon.
type Env struct {
	// Log writes a line of the daemon's log; msg has no package prefix.
	Log func(level slog.Level, msg string, args ...any)
	// Replay is the daemon's replay cache, shared by every door that
	// refuses reused sequences; nil when no door needs one.
	Replay ReplayCache
	// FleetUsers returns the fleet's users' keys, sorted by name, and
	// whether the node has read them all since it started; nil without a
	// fleet. A door with fleet_users is made again when they change.
	FleetUsers func() (keys []portlang.NamedKey, caughtUp bool)
}

// A ReplayCache remembers used sequences until they can no longer be
// valid (package replay's Cache).
type ReplayCache interface {
	// Add records id, valid until expires; it reports false, writing
	// nothing, when id is already recorded. It returns only once the
	// record is on disk.
	Add(id [16]byte, expires time.Time) (added bool, err error)
}

// A kind is one way of giving a door its sequences.
type kind struct {
	name  string
	takes func(*knock.Door) bool
	open  func(knock.Door, Env) (Source, error)
}

// kinds are tried in order; the first that takes a door builds its source.
var kinds = []kind{
	messageKind,
	rotatingKind,
	oneTimeKind,
	staticKind,
}

// New returns the source of door.
func New(door knock.Door, env Env) (Source, error) {
	if env.Log == nil {
		env.Log = func(slog.Level, string, ...any) {}
	}
	for _, k := range kinds {
		if k.takes(&door) {
			return k.open(door, env)
		}
	}
	return nil, errors.New("source: door " + door.Name + " has no sequence")
}

// KindOf names the kind of door's source ("static", "one-time", ...).
func KindOf(door knock.Door) string {
	for _, k := range kinds {
		if k.takes(&door) {
			return k.name
		}
	}
	return ""
}
