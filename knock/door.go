package knock

import (
	"net/netip"
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

	Flags           FlagMatch
	Timeout         time.Duration
	TimeoutMode     TimeoutMode
	AllowDuplicates bool          // a repeat of the step just matched is ignored
	Cooldown        time.Duration // after a success, the source's next success waits this long
	Targets         []netip.Addr  // destinations to match instead of the local addresses

	Start      Command
	Start6     Command // for IPv6 sources; Start when zero
	Stop       Command
	Stop6      Command // for IPv6 sources; Stop when zero
	CmdTimeout time.Duration
	// Reopen runs Start again for a source whose door is already open
	// (knockd's behaviour); by default a door already open is not reopened.
	Reopen bool
}
