// Package send puts knocks on the wire: one TCP SYN or one UDP datagram per
// knock, to one host, paced.
//
// # How a knock is sent
//
// A TCP knock is a non-blocking connect() followed at once by close(). The
// kernel sends the SYN inside connect() and forgets the connection at close()
// (SO_LINGER 0), so the knock is exactly one SYN: when the port is filtered and
// nothing answers, there is no socket left to retransmit after the kernel's
// one-second retransmission timeout, and when the port is open the connection
// is reset instead of lingering in FIN_WAIT or TIME_WAIT. A knock daemon
// counting SYNs sees one knock, never two.
//
// A UDP knock is one datagram carrying a single zero byte, as knockd's client
// sends it.
//
// # Data flow
//
// The caller resolves the host once (Resolve), parses each port argument
// (ParsePort: "22", "ssh", "7000:udp") into a Target, and hands the targets
// one by one to a Sender, which waits Options.Delay since the previous knock
// and then sends. The Sender opens a fresh socket for every knock, so every
// knock leaves from a new source port and no state carries over between
// knocks.
//
// Sockets are opened with golang.org/x/sys/unix on Linux and FreeBSD; on
// other systems Knock returns an error naming the system.
//
// Sockets belong to the network namespace of the thread that opens them:
// tests that knock inside a namespace call Knock from a goroutine locked to a
// thread in that namespace (see package sendtest).
package send
