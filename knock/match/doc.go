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
// Options.OnProgress, when set, hears each attempt's progress as it
// happens, synchronously from Handle and Expire: every step matched
// (StageReached, up to the last, which the Match follows), every reset
// (AttemptReset) and every timeout (AttemptExpired). The daemon writes
// knockd's "SRC: DOOR: Stage N" and "SRC: DOOR: sequence timeout (stage
// N)" log lines from it. The Logger's debug lines say the same for
// people; nothing should parse them.
//
// # Semantics
//
// By default the rules are knockd 0.8's, read from knockd.c (sniff):
//
//   - An event counts only if its (protocol, port) is a step of some door
//     that also accepts its TCP flags and destination (the door's Targets,
//     else the host's own addresses via Options.IsLocal). Anything else is
//     what knockd's kernel filter drops: it resets nothing.
//   - State is kept per (source, door): the number of steps matched and the
//     times of the first and latest knock.
//   - The source's attempts in progress come first. Those past their
//     timeout are dropped. Each remaining one whose door accepts the
//     event's destination takes the event: wrong TCP flags → ignored; the
//     next step → one step further, and after the last one the door opens;
//     with AllowDuplicates, the step just matched again → tolerated; any
//     other counted event → the attempt is invalidated.
//   - An event that at least one attempt took is spent: it starts no door,
//     whatever the attempts did with it (see below).
//   - Only an event no attempt took starts doors: every door whose first
//     step it is and which accepts its flags and destination, in door
//     order. Several doors may start on one event; a one-step door opens
//     on every such event. Sequences may repeat ports.
//   - A door with a Starts window (a sequence derived for one period of a
//     rotating door) starts only on an event whose time falls within it;
//     an attempt begun inside it completes normally after it ends. The
//     window is checked against the event's time, so whether a knock
//     starts an attempt does not depend on when the daemon swaps doors.
//   - A rotating door's whole port range counts, not only its steps: a
//     knock anywhere in it is taken by the source's attempts (and resets
//     them unless it is the next step). With knockd's rule alone a sweep
//     of the range would find any sequence whose ports ascend.
//   - An attempt expires Timeout after its first knock (TimeoutFromFirst),
//     or after its latest one (TimeoutGap). A Timeout ≤ 0 never expires.
//
// # Which attempts take an event
//
// An attempt takes an event when it is the event's source's, is still in
// progress after its timeout was checked, and its door accepts the
// event's destination. Taking does not need the event to be the door's
// step, nor its TCP flags to suit the door: an attempt that ignores the
// event for its flags, or tolerates it as a repeat, has still taken it. An
// attempt whose door does not accept the destination (another Target, or
// a door without Targets and an address not the host's) neither sees the
// event nor keeps it from starting doors. Attempts of other sources, and
// cooldown holds, never take an event.
//
// This is knockd's rule: sniff gathers the source's attempts whose door's
// target is the packet's destination, and runs the packet through each of
// them (step, ignore for flags, or invalidate); only if it gathered none
// does it try the packet as the first knock of every door. In particular a
// packet a door in progress ignores for its flags starts no other door in
// knockd either, and that keeps such packets (an ACK of a connection the
// knocker already has, say) from seeding attempts the knocker never meant.
// knockd removes finished, invalidated and expired attempts before it
// looks at the next packet, so both count the same attempts as in
// progress; Expire dropping them earlier changes nothing.
//
// The rule matters with Debian's knockd.conf, where openSSH is
// 7000,8000,9000 and closeSSH 9000,8000,7000: the 9000 that opens openSSH
// is taken by that attempt and does not start closeSSH, so a following
// 9000,8000,7000 closes. Were it to start closeSSH, the real closing 9000
// would find that stale attempt at its second step, reset it and be
// spent, and closeSSH would never open.
//
// Time is the events' own (Event.Time), never the wall clock, so replaying
// a .pcap behaves as the live traffic did, and tests need no sleeping.
// Expire takes its time from the caller's clock, which must be on the same
// base as the capture timestamps.
//
// knockd's defects are not reproduced: its single attempt list lost every
// source's attempt whenever the list's head ended, so one scanner denied
// everyone, and a door whose sequence extends another's (A = 7000,8000,
// B = 7000,8000,9000: the first 7000 starts both) never opened. Here each
// (source, door) record lives and dies alone, and attempts also expire by
// Expire, not only when the next packet comes. Per door, AllowDuplicates
// tolerates a repeat of the step just matched instead of resetting, and
// Cooldown suppresses (and counts) further successes of a source within
// that time after one was reported.
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
