// Package client is the knock command: knockd's port-knock client, and
// songs knocked into knockbeepd's music protocol. cmd/knock only turns
// signals into a context and calls Run.
//
// # How a command line becomes knocks
//
// parseArgs reads the arguments GNU getopt_long style, as knockd's client
// does (clustered short options, options after operands, "--"), and checks
// everything before anything is sent, so that a bad port or a bad flag never
// leaves half a sequence on the server.
//
// Without --song each PORT[:PROTO] operand becomes a send.Target
// (send.ParsePort); the host is resolved once (send.Resolve) and a
// send.Sender knocks on the targets in order, -d apart.
//
// With --song the song is read and parsed (songs.Load: the song file of
// that name, or else the embedded song of that name), composed into a
// sequence.Plan of the music protocol given by --ports, --pitch-base and
// --step (sequence.Compose), and each knock of the plan is sent to its
// port as a TCP SYN, or with -u a UDP datagram, DefaultSongDelay apart unless -d says otherwise. A plan
// of more steps than a knockbeepd pool keeps by default
// (sequence.DefaultDaemonPoolSteps) is sent with a warning on stderr: the
// daemon's own limit is in its config, which knock cannot see. --dry-run
// prints the plan and the beep arguments the daemon will compile from it
// (sequence.FormatBeepArgs of Plan.Expected) instead of sending.
//
// The exit statuses (ExitOK ... ExitInterrupted) are part of the interface
// and listed in the usage text.
package client
