// Package daemon is knockbeepd: it wires capture, the music doors, the
// sequence matcher and the command doors into one process, and holds its
// command line (Main), its signals, its log and its pidfile.
//
// # Data flow
//
//	capture.Run (AF_PACKET ring / BPF device / --replay FILE.pcap) → eventQueue → the owner goroutine → handle, in packet order
//	    ├─ music.Handle: a music port → a step appended to the source's pool, a pitch, or a song queued
//	    └─ match.Handle → each Match → the door's source: Used (a one-time line marked, a replay refused)
//	                                 → command.Runner.Open (start now, stop after cmd_timeout)
//	                                 → the sources' new sequences → the matcher's doors, new kernel filter
//	music.Run (its own goroutine) → beeper.Player → the speaker, or a WAV beside the archived pool
//	command.Runner (a goroutine per door) → the commands, in order per door
//
// One goroutine, the owner (owner.go), owns the daemon's state: the
// config in force, the doors and their sources, the matcher, the music
// doors, the rate limiter and the recent events. No lock guards them;
// nothing else touches them. Capture copies each knock into a lock-free
// queue (eventQueue, 32768 knocks); the owner takes them in order, in
// batches, so knocks are acted on in the order they were captured. The
// queue is what keeps the ring's reader going while the owner is slow for
// a moment (a knock to a pool waits for the once-a-second fsync of that
// pool, and an fsync took 200 ms on a busy disk): without it the kernel's
// ring filled and dropped knocks.
//
// Everyone else asks the owner through do, and the owner runs the request
// between two batches (at most 256 knocks apart) or while the queue is
// empty: the once-a-second tick (expire attempts, let the music doors
// forget idle sources with music.Tick, ask the doors' sources for their
// sequences when one said they change, as a rotating door's period does),
// a reload's prepared state, Stats and the status page, silencing at
// SIGTERM. The ticker goroutine lists the host's addresses (on Linux when
// the kernel says they changed) and reads the kernel's drop counters
// itself, and asks the owner only to swap the filter. When a tick finds
// nothing to do until the next knock (no attempt, no music source, no
// message door) the ticker rests, with no timer, and the capture's next
// knock wakes it: an idle daemon wakes for nothing. Capture wakes the
// owner once a batch of knocks, not once a knock (capture.RunBatched). A reload does all its I/O before it asks: it reads the config,
// the one-time files and the replay cache, opens new interfaces, and for
// rebuilt music doors opens the speaker and reads the pools; the owner
// then swaps the prepared state in without I/O, and the reload closes what
// was replaced. (Rebuilt music doors that read the pools the old ones
// append to are swapped in only if the old ones took no music knock
// meanwhile; after three such races the pools are read on the owner.)
// Nothing the owner runs waits for a command or for playback: commands
// are queued to the runner, songs to the player. While no owner runs
// (before Run, after it), do runs requests itself, one at a time.
//
// # The kernel filter
//
// FilterFor turns the config into a capture.Filter: each step of each door
// (with the door's TCP flags), the music ports (SYN without ACK, and UDP),
// and the destinations — this host's addresses, refreshed every second,
// and the doors' targets. The kernel drops every other packet, so traffic
// to other ports never reaches the matcher (knockd's rule 1). A rotating
// door's whole port range passes, so that a wrong knock in it reaches the
// matcher and resets the knocker's attempt; its period boundaries change
// the matcher's doors, not the filter. knockbeepd --check prints it
// (DescribeFilter).
//
// # Doors and their sources
//
// Each configured door has a source (package source): static, a knockd
// one-time file, or a rotating door whose sequence is derived from a key
// every period (package portlang). The daemon gives the matcher one door
// per sequence a source offers now, each with the window its first knock
// must fall in (doors.go), asks the sources again when one said its
// answer changes (the tick, once a second) or after a door opened, and
// calls the source's Used before the door's command runs: a rotating door
// records the period's sequence in the replay cache (package replaycache,
// STATE_DIR/replay.cache, synced to disk) and refuses one already there,
// which is logged and counted (Stats.Refused).
// knockbeepd --genkey FILE makes a key; --show-sequence DOOR prints a
// rotating door's current sequence.
//
// # A fleet
//
// With a [cluster] table, New opens this host's fleet node (package fleet,
// fleet.go): an embedded NATS server or a connection to a cluster, which
// sets the fleet's streams up in the background, so that the daemon
// starts at once and works alone until the cluster answers (it logs
// "fleet: joined" when it has). Nothing of it touches the owner's state
// or blocks the owner. A use a source recorded in the local replay cache
// (a rotating door's sequence, a message; claimTap notes it) is claimed
// in the fleet's replay cache on a goroutine, whose answer comes back to
// the owner as a request: the door opens, or the use is refused as seen
// at another node. With the cluster unreachable the claim fails within a
// second and the use is decided alone (logged, counted as degraded). An
// opening of a door with fleet = true is published; the openings other
// trusted nodes publish are applied on the owner to this host's fleet
// door of the same name (firewall sets and commands, for the time the
// opening has left). Openings, closings, refused replays and songs
// knocked in go to the node's audit chain through a queue. A rotating
// door with fleet_users takes its keys from the fleet's users bucket:
// the door set is made again, off the owner like a reload, whenever the
// watch delivers a change, and it opens for no one until the node has
// caught up (usersChanged). Without
// [cluster], and for --replay, there is no node: nothing is started and
// nothing listens. knockbeepd --genkey --ed25519 FILE makes a node key;
// --audit-verify walks the audit stream beside the daemon.
//
// # Signals and lifetime
//
// New opens the log, the pidfile, the capture (knocks queue in the kernel
// from then on), the speaker and the pools; Run runs until its context
// ends. SIGHUP calls Reload: the new config is read and validated first and
// a bad one is logged while the old one stays; then the matcher's doors
// are replaced (attempts of unchanged doors carry over), the filter is
// updated, new interfaces are opened before the old ones are closed, the
// music doors take new ports, limits and allowed networks in place
// (music.Reload: pools, pitches and queued songs stay) and are rebuilt only
// for another speaker, state directory or pool mode, and the log file is
// reopened for logrotate. SIGTERM or SIGINT ends Run: capture stops, the
// speaker falls silent, every pending stop command runs at once (none is
// lost), the pools are synced and closed, and the pidfile is removed.
//
// --replay runs a capture file through the same path, commands included
// (that is how it reproduces what happened): the file is the capture's
// source (capture.OpenFile) instead of the network, and the rest of the
// daemon is the same. What differs follows from the source, in one place
// each: its events carry the time they were made, so the latest event's
// time is the daemon's now (timeouts, rotating doors, the replay cache)
// and drives the once-a-second tick (advance) where the clock does
// live; every address counts as this host's (addrSet.all); the file is
// read in step with the owner, each packet after the owner acted on the
// one before, so that it meets the filter those left (pushWait); and Run
// returns at its end once the songs it queued have played. Without
// --state-dir its pools and songs go to a new temporary directory, not
// the live daemon's.
//
// # Log
//
// The log goes where the config says (log.go): standard error, a file,
// syslog, as slog text or JSON lines, or knockd's "[YYYY-MM-DD HH:MM] msg"
// lines. In knockd's format the lines knockd itself writes are written in
// its words ("SRC: DOOR: Stage N", "SRC: DOOR: sequence timeout (stage
// N)", "SRC: DOOR: OPEN SESAME", "DOOR: running command: CMD", "SRC:
// DOOR: command timeout"), for fail2ban filters and scripts written for
// knockd: the stages and timeouts come from the matcher's OnProgress
// reports (logKnockdProgress), the openings through logOpened, and the
// command runner has its KnockdMessages option.
//
// # Demo
//
// Demo (knockbeepd --demo) starts a daemon with the built-in config on the
// loopback interface, knocks the Imperial March into it with package send
// and reports where the music went, checking the daemon's pool against the
// composed plan.
package daemon
