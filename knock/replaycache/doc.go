// Package replaycache is the daemon's replay cache: the sequences that opened
// a door, each remembered until it can no longer be valid, so that a knock
// recorded on the wire opens nothing when it is sent again.
//
// The cache lives in one file in the state directory. Add appends a
// fixed-size record (the 16-byte id, the expiry, a CRC-32C) and syncs it
// before it returns, and the daemon adds before the door's command runs,
// so an opening survives a restart and a SIGKILL right after it. A record
// torn by a crash (a short tail, or a bad CRC) is dropped when the file is
// opened. The cache is bounded (Options.Max live entries; Add refuses
// beyond) and compacted: expired records are dropped by rewriting the file
// (to a temporary file, synced, renamed over it) when they outnumber the
// live ones.
package replaycache
