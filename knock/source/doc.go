// Package source gives each door its sequences: where they come from, what
// happens when one is used, and when they next change.
//
// A door's Source is built by New from the door as configured, by the
// first kind in kinds that takes it: a rotating door (sequences derived
// from a secret, a new one every period, package portlang), a knockd
// one-time file (one line at a time, each marked used after it opened the
// door), or a static sequence. Adding a kind is one file holding its kind
// value and Source, and one line in kinds.
//
// The daemon owns the sources: it calls Current to learn which sequences
// its matcher and the kernel filter must know now, gives each to the
// matcher as a door with the sequence's start window, calls Used when one
// opened the door (before the door's action runs: Used may refuse it), and
// calls Current again after a Used or when the time Current named is
// reached. Runtime state (the one-time file's marks, the replay cache)
// lives here, with the daemon, never in the parsed config.
//
// One goroutine, the daemon's owner, calls a Source; none is safe for
// concurrent use.
package source
