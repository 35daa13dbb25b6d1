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
// # One-time sequences
//
// A door may take its sequence from a knockd one_time_sequences file.
// Parse reads the file's current line into Door.Sequence; a file that is
// missing or used up disables the door (Config.Disabled, with the reason)
// instead of failing the whole config. After a success the daemon calls
// OneTime.MarkUsed, which marks the line exactly as knockd does, and
// OneTime.Current for the next sequence.
package config
