// Package interop proves knockbeep against the programs it replaces:
// Debian's knockd 0.8 and its knock client. It holds tests only.
//
// # What is proved
//
//   - Debian's knock knocks knockbeepd, and knockbeep's knock knocks
//     knockd: TCP and UDP steps, -u, -d, IPv4 and IPv6; the doors'
//     commands run with the knocker's address, and both clients put the
//     same packets on the wire.
//   - The same knockd.conf and the same packets, given to knockd and
//     knockbeepd at once, run the same commands, except where knockd is
//     wrong or knockbeepd decides otherwise on purpose. Each such case is
//     a test named TestKnockdBug... or TestKnockdDifference... asserting
//     what each daemon does, and a section of docs/knockd-differences.md.
//   - knockbeepd --replay runs the same commands as knockbeepd live, from
//     a pcap file of the same packets.
//   - Debian's shipped /etc/knockd.conf loads unchanged, and its doors
//     open and close the firewall in both daemons alike.
//   - knockd's command-line flags mean the same to knockbeepd.
//
// # How the tests run
//
// Each live test builds a lab: two network namespaces joined by a veth
// pair, with IPv4 and IPv6 addresses, deleted when the test ends, so the
// host's interfaces are never involved and tests run in parallel. The
// daemons run in the server namespace (ip netns exec), knockd from the
// Debian package and knockbeepd built from ./cmd/knockbeepd. A scenario's
// packets are Ethernet frames built in the test and sent from the client
// side with an AF_PACKET socket, at the scenario's pace, so both daemons
// capture the very same packets; the same frames, written to a pcap file
// with the same time stamps, are what knockbeepd --replay reads.
//
// A door's command appends "DOOR IP" to a file named opened, given as a
// relative path: each daemon runs in a working directory of its own, so
// one knockd.conf serves both, unchanged.
//
// The live tests need root (network namespaces, raw sockets) and skip
// without it. They install knockd (and iptables for Debian's knockd.conf)
// with apt-get when it is missing, as scripts/test does. The replay tests
// and the scenario checks need no privilege and run everywhere.
package interop
