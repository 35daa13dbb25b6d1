package knock

import (
	"net/netip"
	"slices"
	"time"
)

// A Step is one knock of a door's sequence: a destination port and protocol.
type Step struct {
	Proto Proto
	Port  uint16
}

// FlagMatch says which TCP flags a packet must have set and which it must
// have clear to count as a knock (knockd's "tcpflags = syn,!ack"). The zero
// FlagMatch accepts every TCP packet, as knockd does without tcpflags.
type FlagMatch struct {
	Set   TCPFlags
	Clear TCPFlags
}

// Match reports whether flags satisfy m.
func (m FlagMatch) Match(flags TCPFlags) bool {
	return flags&m.Set == m.Set && flags&m.Clear == 0
}

// TimeoutMode says what a door's timeout is measured from.
type TimeoutMode uint8

const (
	// TimeoutFromFirst measures from the first knock of the attempt (knockd).
	TimeoutFromFirst TimeoutMode = iota
	// TimeoutGap measures from the previous knock: each knock must follow
	// the one before within the timeout.
	TimeoutGap
)

// A Command is what a door runs. Argv is executed directly unless Shell is
// set, in which case Argv holds one string for /bin/sh -c. The placeholders
// %IP%, %PORT%, %PROTO% and %DOOR% are replaced in every argument.
type Command struct {
	Argv  []string
	Shell bool
}

// IsZero reports whether c runs nothing.
func (c Command) IsZero() bool { return len(c.Argv) == 0 }

// A Door is a knock sequence bound to commands: knockd's door.
type Door struct {
	Name     string
	Sequence []Step
	// OneTimeFile, when set, is a knockd one_time_sequences file: Sequence
	// is its current line, replaced after every success.
	OneTimeFile string
	// Rotating, when set, derives the door's sequences from a secret, a
	// new one every period (package portlang); Sequence is then empty.
	Rotating *Rotating
	// Message, when set, makes the door a message door: it takes texts
	// sent as knocks (package message) instead of a sequence, and Rotating
	// holds its keys, period, skew, range and protocols.
	Message *MessageDoor
	// PerSource, when set, gives each knocker its own sequence (a rotating
	// door with bind_source): Sequence is then empty. Only the doors the
	// daemon derives from a source have one.
	PerSource SourceSequence
	// Starts, when not zero, bounds when an attempt may begin: its first
	// knock must fall within it. Only the doors the daemon derives from a
	// source (one per acceptable sequence) have one; an attempt begun
	// inside it may complete after it ends, within the door's timeout.
	Starts Window

	Flags           FlagMatch
	Timeout         time.Duration
	TimeoutMode     TimeoutMode
	AllowDuplicates bool          // a repeat of the step just matched is ignored
	Cooldown        time.Duration // after a success, the source's next success waits this long
	Targets         []netip.Addr  // destinations to match instead of the local addresses

	Start  Command
	Start6 Command // for IPv6 sources; Start when zero
	Stop   Command
	Stop6  Command // for IPv6 sources; Stop when zero
	// StopDelay is how long after the start command has run the stop
	// command is queued: the door stays open that long (cmd_timeout,
	// knockd's Cmd_Timeout).
	StopDelay time.Duration
	// CommandTimeout is how long each of the door's commands may run
	// before it and its process group are killed (command_timeout); 0
	// means no limit, as in knockd.
	CommandTimeout time.Duration
	// Open lists the firewall sets (firewall.ParseSpec's forms, e.g.
	// "nft:inet/filter/knocked4") the knocker's address is added to, for
	// OpenFor, with the timeout kept by the kernel.
	Open    []string
	OpenFor time.Duration
	// Reopen runs Start again for a source whose door is already open
	// (knockd's behaviour); by default a door already open is not reopened.
	Reopen bool
	// Fleet, with a [cluster] table, makes the door a fleet door: an
	// opening here is published to the fleet, and an opening of a door of
	// this name at a trusted node opens this door here for that address
	// (package fleet).
	Fleet bool
}

// MessageDoor is what a message door has beyond a rotating door's
// settings.
type MessageDoor struct {
	MaxBytes int  // the longest text it takes
	Morse    bool // each text is also played as Morse code on the music doors' speaker
	// Song: the frames are packed songs for the music doors
	// (config.Music.SongDoor), not texts for a command.
	Song bool
}

// A SourceSequence gives a door's sequence for each knocker's address. The
// matcher asks it for every knock in the door's range from a source that
// has no attempt under way, so it must be cheap and must not allocate.
type SourceSequence interface {
	// SequenceFor appends src's sequence to buf[:0] and returns it: Len
	// steps, or none if src has no sequence.
	SequenceFor(src netip.Addr, buf []Step) []Step
	// Len is the length of every sequence it gives.
	Len() int
}

// A Window is a span of time [From, Until). The zero Window is unbounded.
type Window struct {
	From, Until time.Time
}

// IsZero reports whether w is unbounded.
func (w Window) IsZero() bool { return w.From.IsZero() && w.Until.IsZero() }

// Contains reports whether t falls within w.
func (w Window) Contains(t time.Time) bool {
	return (w.From.IsZero() || !t.Before(w.From)) && (w.Until.IsZero() || t.Before(w.Until))
}

// Rotating is a door whose sequence is derived from a shared secret and
// changes every Period: the port language of docs/port-language.md.
type Rotating struct {
	// SecretFiles are the key files, one or two: with two (during a key
	// rotation) a sequence derived from either opens the door.
	SecretFiles []string
	// UserKeys, instead of SecretFiles, is a directory of users' keys,
	// NAME.key each (portlang.ReadKeyDir): each user knocks with their
	// own, and the log and audit records name the user.
	UserKeys string
	// FleetUsers, instead of either, takes the users' keys from the
	// fleet ([cluster]): added and revoked at any node, in force at every
	// node within moments (knockbeepd --user-add, --user-revoke).
	FleetUsers bool
	Period     time.Duration
	Skew       int // periods before and after the current one also accepted
	Length     int // knocks in a sequence
	PortLo     uint16
	PortHi     uint16  // inclusive
	Protos     []Proto // each step's protocol is drawn from these
	BindSource bool    // the sequence also depends on the knocker's address
	// Reply answers each completed sequence with an authenticated UDP
	// datagram (package reply); the last step of every sequence is then
	// a UDP datagram, whatever the draw gave it.
	Reply bool
}

// RangeProtos are the protocols whose knocks in the range count: Protos,
// and UDP too with Reply (the last step).
func (r *Rotating) RangeProtos() []Proto {
	if r.Reply && !slices.Contains(r.Protos, UDP) {
		return append(slices.Clip(r.Protos), UDP)
	}
	return r.Protos
}
