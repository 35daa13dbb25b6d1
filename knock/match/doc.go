// Package match is knockbeepd's sequence matcher: it follows the knocks of
// every source against every door and says which doors open.
//
// # Data flow
//
// The capture loop decodes a packet into a knock.Event and calls
// Matcher.Handle, which appends a Match for every door the event opens. The
// daemon runs each Match's commands or music action, installs the next
// one-time sequence with SetSequence, calls Expire from a timer, and
// Reload on SIGHUP. One goroutine owns the Matcher; nothing in it blocks.
//
// # Semantics
//
// By default the rules are knockd 0.8's, read from knockd.c:
//
//   - An event counts only if its (protocol, port) is a step of some door
//     that also accepts its TCP flags and destination (the door's Targets,
//     else the host's own addresses via Options.IsLocal). Anything else is
//     what knockd's kernel filter drops: it resets nothing.
//   - State is kept per (source, door): the number of steps matched and the
//     times of the first and latest knock.
//   - For an attempt in progress: wrong TCP flags → the event is ignored;
//     the next step → one step further, and after the last one the door
//     opens; any other counted event → the attempt is invalidated, and the
//     event is consumed: it does not start that door again.
//   - A door without an attempt for the source starts one when the event is
//     its first step. Several doors may start on one event; a one-step door
//     opens on every matching event. Sequences may repeat ports.
//   - An attempt expires Timeout after its first knock (TimeoutFromFirst),
//     or after its latest one (TimeoutGap). A Timeout ≤ 0 never expires.
//
// Time is the events' own (Event.Time), never the wall clock, so replaying
// a .pcap behaves as the live traffic did, and tests need no sleeping.
// Expire takes its time from the caller's clock, which must be on the same
// base as the capture timestamps.
//
// knockd's defects are not reproduced: its single attempt list lost every
// source's attempt whenever the list's head ended, so one scanner denied
// everyone and a door whose sequence extends another's never opened. Here
// each (source, door) record lives and dies alone, and attempts also expire
// by Expire, not only when the next packet comes. Per door, AllowDuplicates
// ignores a repeat of the step just matched instead of resetting, and
// Cooldown suppresses (and counts) further successes of a source within
// that time after one was reported.
//
// One difference follows from per-door state: knockd starts no door for a
// source that has any attempt in progress, while here the first step of
// door B starts B even while the same source is half way through door A.
//
// # Memory and eviction
//
// Records live in a slab allocated once (Options.MaxAttempts of them, by
// default 65536, about 5 MiB) with a free list, and sources are found
// through a fixed-size open-addressing table keyed with a random seed; in
// the steady state Handle allocates nothing. When the slab is full a new
// attempt evicts an old record, and Stats.Evicted counts it.
//
// Which record to evict matters under attack. A flood of SYNs from random
// sources to a door's first port creates one attempt per source. Plain
// oldest-first eviction then pushes out everyone, including a real client
// whose knocks are more than a slab-full of flood packets apart: its
// attempt is simply older than the flood's. Instead records are kept in one
// least-recently-used list per stage (steps matched), and eviction takes
// the oldest record of the lowest non-empty stage. A flood of first knocks
// therefore only evicts other first knocks; once the client's second knock
// lands its attempt is above the flood and survives it, whatever the flood's
// size. A client's first knock is indistinguishable from the flood's, so it
// must be followed by the second before a slab-full of flood packets pass
// (at 200,000 SYN/s and the default cap, about a third of a second).
// Cooldown holds are evicted last of all: a source cannot shed its cooldown
// by flooding.
package match
