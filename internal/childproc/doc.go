// Package childproc is what the programs need to run a child process:
// a process group of its own, killed as a whole (OwnGroup, KillGroup),
// and its output as lines (LineWriter). The daemon's door commands
// (knock/command) and the fleet's NATS server (knock/fleet) use it.
package childproc
