// Package config reads knockbeepd's configuration into a validated Config:
// the interfaces to capture on, the speaker, the music doors' protocol and
// limits, the command doors (knock.Door), and where the log goes.
//
// # Two syntaxes, one Config
//
// A config file is either knockbeepd's own TOML (configs/knockbeepd.toml
// documents every key) or knockd's knockd.conf, read as knockd 0.8 reads it
// so that switching from knockd is a one-line change. Detect tells them
// apart by content, not by file name. Both parsers start from Default — the
// one place defaults live — apply what the file says, and run the same
// validation, so a Config means the same whichever syntax it came from.
//
//	file ─ Detect ─┬─ TOML: BurntSushi/toml → settings converted by hand ─┐
//	               └─ knockd.conf: line by line, as knockd's parseconfig ─┴─ validate → *Config
//	*Config ─ WriteTOML → TOML that parses back to the same Config
//
// # knockd.conf
//
// Every directive of knockd 0.8 and its aliases are read (UseSyslog,
// LogFile, PidFile, Interface; Sequence, One_Time_Sequences,
// Seq_Timeout/Timeout, TCPFlags, Start_Command/Command,
// Start_Command_6/Command_6, Cmd_Timeout, Stop_Command, Stop_Command_6,
// Target), with knockd's defaults (Seq_Timeout 25 s from the first knock,
// Cmd_Timeout 10 s). What a knockd.conf means here:
//   - Commands run through /bin/sh -c (Command.Shell), as knockd runs them.
//   - Music doors are off: knockd has none, and a knockd.conf's ports may
//     be anywhere, the music ports included.
//   - No Interface means every interface (knockd would use eth0, which
//     most current systems lack); Interface = any works, unlike in knockd.
//   - LogFile gets knockd's "[YYYY-MM-DD HH:MM] msg" lines (Log.Format
//     "knockd", in which the daemon also uses knockd's words for stages,
//     OPEN SESAME and commands), UseSyslog sends to syslog; with neither,
//     the log goes to standard error.
//   - Commands are killed after DefaultCommandTimeout (a minute; knockd
//     has no limit): knockd.conf has no key for it, TOML's per-door
//     command_timeout changes it.
//   - A door already open for a source is not opened again (Door.Reopen is
//     false), so the firewall gets no duplicate rule; reopen = true in TOML
//     restores knockd's behaviour.
//   - Nonsense knockd accepts is an error naming the line: a timeout of
//     "5s" or 0, a key given twice, a port that is not a number, two doors
//     of one name.
//
// # Errors
//
// Every problem names its line and setting, and says what would be valid;
// Parse reports all problems of a file at once, sorted by line:
//
//	config: knockbeepd.toml: line 12: door "ssh": unknown key "sequense" (did you mean "sequence"?)
//
// BurntSushi/toml keeps key positions to itself and cannot tell one
// [[door]] table from another, so this package finds each key's line with a
// small scanner of its own (tomlpos.go) that runs only on text the TOML
// parser has already accepted.
//
// # Rotating doors
//
// A door with secret_file (one key file, or two during a key rotation)
// rotates: its sequence is derived from the key every period
// (docs/port-language.md), shaped by period, skew, length, port_range and
// protocols (DefaultRotating has the defaults). Validation reads the key
// files (refusing one that group or others may read, naming it) and keeps
// each rotating door's range clear of every other door's ports, the other
// ranges and the music ports. bind_source = true makes each knocker's
// sequence depend on its address as well.
//
// # One-time sequences
//
// A door may take its sequence from a knockd one_time_sequences file.
// Parse reads the file's current line into Door.Sequence; a file that is
// missing or used up disables the door (Config.Disabled, with the reason)
// instead of failing the whole config. Lines that are not sequences are
// skipped, as knockd skips them, but each with a warning naming the file
// and the line (Config.Warnings, which the daemon logs). Parsing only
// reads: after a success the daemon's one-time source (package source)
// marks the line exactly as knockd does, and OneTime.Current gives the
// next sequence.
package config
