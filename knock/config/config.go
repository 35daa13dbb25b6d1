package config

import (
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/fleet/fleetconfig"
	"github.com/knockbeep/knockbeep/knock/match"
	"github.com/knockbeep/knockbeep/knock/message"
	"github.com/knockbeep/knockbeep/knock/portlang"
	"github.com/knockbeep/knockbeep/sequence"
)

// Format is the syntax a configuration was read from.
type Format uint8

const (
	// FormatNone marks the built-in defaults: no file was read.
	FormatNone Format = iota
	// FormatTOML is knockbeepd's own syntax (configs/knockbeepd.toml).
	FormatTOML
	// FormatKnockd is knockd's knockd.conf.
	FormatKnockd
)

func (f Format) String() string {
	switch f {
	case FormatNone:
		return "defaults"
	case FormatTOML:
		return "toml"
	case FormatKnockd:
		return "knockd.conf"
	}
	return fmt.Sprintf("format(%d)", uint8(f))
}

// Config is the daemon's whole configuration, validated. Every field has
// its default in Default; the daemon wires it and never fills gaps itself.
type Config struct {
	Interfaces  []string // capture on these; empty means every interface that is up ("any")
	Speaker     string   // speaker spec (beeper.Open): auto, evdev[:PATH], console[:PATH], speaker[:PATH], wav:PATH, none
	StateDir    string   // pools, played songs and WAV output live here
	PidFile     string   // "" writes no pidfile
	Log         Log
	MaxAttempts int // cap on knock attempts tracked at once; the oldest is evicted beyond it
	// RateLimit is the knocks a second each source may make on average,
	// in bursts of RateBurst (package ratelimit); 0 sets no limit.
	RateLimit, RateBurst int
	Music                Music
	HTTP                 HTTP
	// Cluster is the [cluster] table: this host's place in a fleet
	// (package fleet). The zero value, no table, is a single host.
	Cluster fleetconfig.Config
	// Doors are the command doors that can open, in config order (the
	// order matters: doors are tried in it).
	Doors []knock.Door
	// Disabled are doors that cannot open now: one-time doors whose file
	// is missing or used up. They are not in Doors; the daemon logs each
	// Reason at start-up and on reload.
	Disabled []DisabledDoor
	// Warnings are problems that do not stop the config from working,
	// such as lines of a one-time sequences file that are not sequences.
	// The daemon logs them at start-up and on reload; --check prints them.
	Warnings []string
	Source   Format // the syntax this config was read from
}

// HTTP configures the metrics and status page server (package status).
type HTTP struct {
	// Listen is a TCP address ("127.0.0.1:9120") or a unix socket path;
	// "" serves nothing.
	Listen string
}

// A DisabledDoor is a door kept out of Config.Doors, and why.
type DisabledDoor struct {
	Index  int // position among all the doors of the file, for writing them back in order
	Door   knock.Door
	Reason string
}

// Log says where the daemon's log goes and in which form.
type Log struct {
	Level slog.Level
	// Format is how lines written to stderr and File look: "text" and
	// "json" are slog's handlers; "knockd" is knockd's LogFile line,
	// "[YYYY-MM-DD HH:MM] message".
	Format string
	Stderr bool   // write to standard error
	Syslog bool   // send to the local syslog
	File   string // append to this file; "" for none
}

// Log formats.
const (
	LogText   = "text"
	LogJSON   = "json"
	LogKnockd = "knockd"
)

// PoolMode says whose knocks share a music pool.
type PoolMode string

const (
	PoolsPerSource PoolMode = "per-source" // one pool per source address, under STATE_DIR/pools/
	PoolsShared    PoolMode = "shared"     // one music.pool for everyone, as in the original protocol
)

// Music configures the music doors (the protocol of sequence.Protocol).
type Music struct {
	Enabled      bool
	Protocol     sequence.Protocol
	Pools        PoolMode
	MaxPoolSteps int // steps one pool may hold; more are refused ([music] max_steps)
	MaxPools     int // pools that may exist at once; a new source beyond it is refused
	// Allow lists the source networks whose knocks compose music; empty
	// allows every source.
	Allow []netip.Prefix
	// QueueLen is how many plays may wait while one plays; a play beyond
	// it is refused.
	QueueLen int
	// RefusalLogInterval is the least time between two log lines about
	// refused knocks of one kind; the refusals between are counted.
	RefusalLogInterval time.Duration
	// KeepPlayed is how many played songs STATE_DIR/played/ keeps; the
	// oldest beyond it are deleted after each song. 0 keeps none.
	KeepPlayed int
	// KeepPlayedMiB bounds the size of the played songs kept, in MiB,
	// likewise.
	KeepPlayedMiB int
	// PoolIdleTimeout forgets a source that knocked nothing for this
	// long: its pitch, and its pool, deleted unplayed; 0 never does.
	PoolIdleTimeout time.Duration
	// MorseWPM is the speed, in words per minute, at which message doors
	// with play = "morse" play their texts.
	MorseWPM int
	// EnsemblePort is the port of the ensemble knock: the knocker's pool
	// plays at once alone, and in a fleet on every node at one instant
	// the conductor (the node knocked) sets a little in the future (knock
	// --orchestra). 0: no ensemble knock. It is a static port like the
	// protocol's: under secret_file it does nothing.
	EnsemblePort uint16
	// Rotating, set by [music] secret_file, takes songs only as
	// authenticated frames of the port language on ports derived per
	// period from the secret (docs/port-language.md, "Songs under a
	// secret"); the protocol's static ports then do nothing. Nil: the
	// static ports, open to every allowed source.
	Rotating *knock.Rotating
}

// DefaultEnsemblePort is [music] ensemble_port's default: the port after
// the default play port.
const DefaultEnsemblePort = 1003

// SongDoorName names the music doors' songs under a secret where doors
// are named (the log, the status page, the filter). The brackets keep it
// apart from any [[door]]'s name in the log; the port language derives
// songs under message.SongDoor, with purposes of their own.
const SongDoorName = "[music]"

// SongDoor is the message door that takes songs when [music] has a
// secret_file: its range, keys and period are the table's, its payload a
// packed song (sequence.PackKnocks) of at most what the range carries.
func (m Music) SongDoor() (knock.Door, bool) {
	if !m.Enabled || m.Rotating == nil {
		return knock.Door{}, false
	}
	r := *m.Rotating
	r.Length, r.BindSource, r.Reply = 1, false, false
	return knock.Door{
		Name:     SongDoorName,
		Rotating: &r,
		Message:  &knock.MessageDoor{MaxBytes: min(message.MaxText(portlang.ShapeOf(&r), 0), message.MaxBytes), Song: true},
		Flags:    knock.FlagMatch{Set: knock.SYN, Clear: knock.ACK},
		Timeout:  r.Period,
	}, true
}

// Defaults for a door that does not say.
const (
	DefaultTimeout   = 25 * time.Second // knockd's Seq_Timeout
	DefaultStopDelay = 10 * time.Second // knockd's Cmd_Timeout
	// DefaultCommandTimeout is how long a door's command may run before
	// it and its process group are killed. knockd has no such limit; here
	// a door's commands run one after the other, so one hung firewall
	// command would stall its door, stop commands included, and the
	// daemon's shutdown, for ever. A minute is far longer than any
	// firewall change takes.
	DefaultCommandTimeout = time.Minute
)

// MaxSequenceLength is the most knocks a door's sequence may have
// (knockd's SEQ_MAX).
const MaxSequenceLength = 32

// Default returns the configuration used when there is no config file:
// the original 1000/1001/1002 music doors on every interface, speaker "auto". It is the one
// place defaults live: parsing starts from it.
func Default() *Config {
	return &Config{
		Speaker:     "auto",
		StateDir:    "/var/lib/knockbeep",
		Log:         Log{Level: slog.LevelInfo, Format: LogText, Stderr: true},
		MaxAttempts: match.DefaultMaxAttempts,
		Music: Music{
			Enabled:            true,
			Protocol:           sequence.DefaultProtocol(),
			Pools:              PoolsPerSource,
			MaxPoolSteps:       sequence.DefaultDaemonPoolSteps,
			MaxPools:           1024,
			QueueLen:           8,
			RefusalLogInterval: 10 * time.Second,
			KeepPlayed:         100,
			KeepPlayedMiB:      256,
			MorseWPM:           20,
			EnsemblePort:       DefaultEnsemblePort,
			PoolIdleTimeout:    10 * time.Minute,
		},
	}
}

// defaultDoor is a door before its keys are applied.
func defaultDoor() knock.Door {
	return knock.Door{Timeout: DefaultTimeout, StopDelay: DefaultStopDelay, CommandTimeout: DefaultCommandTimeout}
}

// Load reads and parses the config file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}
