// Package music is knockbeepd's music doors: it turns the knocks of the
// music protocol (sequence.Protocol; the table in docs/architecture.md) into pool files and
// plays them.
//
// # Data flow
//
// The daemon's owner goroutine, which takes the captured knocks in
// arrival order from capture's queue, calls Handle for every one of them,
// before the matcher. Handle classifies the destination port; a tone or
// silence knock appends one step to the source's pool file, a pitch knock
// (PitchBase+n) sets the pitch of the tones that follow to MIDI note n, a
// play knock archives the pool and queues it as a song. Because only that
// one goroutine writes pools, steps land in packet order; nothing is
// buffered in between, so nothing is lost or reordered however fast knocks
// come (BenchmarkHandle measures the cost of a knock).
//
// Run, in a goroutine of its own, takes queued songs one at a time:
// Compile turns the pool's steps into tones, the log gets the equivalent
// beep arguments (the original protocol's "parameter string for the beep run"), the
// Player sounds them, and a WAV file the Player wrote is put beside the
// archived pool: moved there when it is Music's own (speaker auto's
// fallback), linked or copied when it is where the user asked for it
// (Options.WAVFiles). Handle never waits for it.
//
// # Files
//
// Under the state directory:
//
//	pools/ADDR.pool    the pool of one source (per-source mode, the default);
//	                   ADDR is the address with ':' written '-' (2001-db8--1)
//	music.pool         the one pool of everybody (Options.Shared, as in the original protocol)
//	played/TIME_ADDR.pool  an archived song: TIME is UTC, 20240504T120000.123Z;
//	                   ADDR is whoever knocked play
//	played/TIME_ADDR.wav   its sound, when the speaker writes WAV files
//
// played/ keeps the newest Options.KeepPlayed songs, of at most
// Options.KeepPlayedBytes in all: Run deletes the oldest beyond either
// (pool and WAV together) when it starts and after each song, logs it and
// counts it in Stats.Deleted. Songs queued are never deleted, and files
// under played/ whose names Music did not make are left alone.
//
// A source's pool is created at its first step. Its pitch starts at the
// protocol's DefaultFreq and lives in memory only: after a play, and after
// a restart, the next tones are at DefaultFreq until a pitch knock. New
// loads the pools a previous run left, so a restart loses no stored step; a
// torn last line is dropped with a warning.
//
// # Durability
//
// Each step is one write(2) of one line (poolFile, in sequence's pool text
// format), and a source's first step creates its pool file with its header
// first, so once Handle returns the step survives a crash of the daemon. Handle never fsyncs: an
// fsync of a new file and its directory stalled it 200 ms on a busy disk,
// and every knock behind waited. fsync is batched instead, in Run's
// goroutine:
//
//   - every second (syncInterval), the pools written to since, and then
//     the directory of each pool created since, so that its name survives
//     too; knocks go on appending to a pool while it is fsynced;
//   - when a song is played: its archive and both directories;
//   - on Close: every pool, and the directories of new ones.
//
// So a power loss loses at most the last second of knocks, new pools
// included; a crash of the daemon alone loses nothing Handle returned for.
//
// # Limits and refusals
//
// MaxPoolSteps bounds a pool, MaxPools the sources that hold a pool or a
// pitch (memory and disk hold at most MaxPools × MaxPoolSteps steps, 24
// bytes each in memory and at most 64 in a file), Allow the source networks, QueueLen
// the songs waiting while one plays. A source that knocks nothing for
// PoolIdleTimeout is forgotten by Tick, which the daemon calls once a
// second: its pitch goes and its pool is deleted unplayed, so that
// spoofed knocks cannot hold the MaxPools places for ever (a pool loaded
// at start is as old as its file's mtime, so they do not come back after
// a restart either).
//
// A refused knock does nothing else: a play refused for a full queue
// keeps its pool, to be played by a later play knock. A play knock on an
// empty pool is refused too. Each refusal is counted in Stats and
// logged, at most one line per reason and source per RefusalLogInterval,
// with the number of refusals left unlogged since the line before, and at
// most 10 lines per reason per RefusalLogInterval over all sources: then
// one line counts the refusals left out (a flood from random sources
// would otherwise write a line per source).
//
// Reload (the daemon's SIGHUP) changes the protocol, the limits and Allow
// in place, between two knocks: pools, pitches set and queued songs stay,
// and the next knock obeys the new settings.
//
// A knock is a TCP packet with SYN set and ACK clear, or a UDP datagram
// (knock -u). Other packets to a music port (a reply's ACK, a RST) are
// counted in Stats.Ignored and do nothing.
package music
