// Package knock holds the few types that every part of knockbeep's port
// knocking shares, so that capture, the matcher, the config, the command
// runner, the music doors and the client speak of a knock in one way. It
// has no behaviour beyond small methods on them; the work is done in its
// subpackages.
//
// # The types
//
//   - An Event is one packet that may be a knock, as decoded off the wire
//     or out of a capture file: when it came, its source and destination
//     addresses, its Proto (TCP or UDP), its destination port and, for TCP,
//     its TCPFlags (FIN, SYN, RST, PSH, ACK, URG, as in the TCP header).
//   - A Door is knockd's door: a Sequence of Steps, the TCP flags a knock
//     must carry (a FlagMatch), the timeout of an attempt, and the Commands
//     to run when a source completes the sequence. A Step is one knock of
//     the sequence: a protocol and a destination port. A Door's sequence
//     may instead come from a one-time file (OneTimeFile) or be derived
//     from a key every period (Rotating); package source gives every door
//     its current sequences, each with a Window its first knock must fall
//     in.
//   - A FlagMatch is knockd's "tcpflags = syn,!ack": the flags that must be
//     set and those that must be clear. The zero FlagMatch accepts any TCP
//     packet, as knockd does without tcpflags.
//
// # How a knock flows
//
//	packet ─► capture: the kernel's BPF filter, then decode ─► Event
//	Event ─► music.Handle: a music port → a step in the source's pool, a pitch, or a song to play
//	Event ─► match.Handle: any other port → every Door's Steps and FlagMatch → a completed sequence
//	completed sequence ─► command: the Door's Start now, its Stop after its StopDelay
//
// Package config reads Doors (and the music protocol) from knockbeepd's TOML
// or a knockd.conf; capture.Filter is built from the Doors' Steps and
// FlagMatches so that the kernel drops every packet no door could use;
// decode fills the Event; music and match each take the Event in arrival
// order from the daemon's one owner goroutine; command runs the Commands.
// On the sending side, send and client turn ports (knockd's client) or a
// song (sequence.Plan) into the packets that become Events at the daemon.
package knock
