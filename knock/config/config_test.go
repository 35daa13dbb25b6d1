package config

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/sequence"
)

// No config at all is the original protocol: music doors on 1000/1001/1002 (plus the
// pitch ports) on every interface, speaker auto, no command doors.
func TestDefault(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default does not validate: %v", err)
	}
	if c.Interfaces != nil || c.Speaker != "auto" || !c.Music.Enabled || len(c.Doors) != 0 || c.Source != FormatNone {
		t.Errorf("Default = interfaces %v, speaker %q, music %v, %d doors, source %v; want any, auto, on, none, defaults",
			c.Interfaces, c.Speaker, c.Music.Enabled, len(c.Doors), c.Source)
	}
	if c.Music.Protocol != sequence.DefaultProtocol() {
		t.Errorf("music protocol = %+v, want sequence.DefaultProtocol()", c.Music.Protocol)
	}
	// Each call is a fresh value: changing one changes no other.
	c.Music.Allow = append(c.Music.Allow, netip.MustParsePrefix("10.0.0.0/8"))
	c.Interfaces = append(c.Interfaces, "eth0")
	if d := Default(); d.Music.Allow != nil || d.Interfaces != nil {
		t.Errorf("Default shares state between calls")
	}
	checkRoundTrip(t, Default())
}

// configs/knockbeepd.toml documents every option at its default: it parses
// to exactly Default, and names every key the parser knows.
func TestShippedTOMLIsTheDefaults(t *testing.T) {
	path := filepath.Join("..", "..", "configs", "knockbeepd.toml")
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if d := configDiff(t, Default(), c); d != "" {
		t.Errorf("configs/knockbeepd.toml differs from Default (-want +got):\n%s", d)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for table, keys := range tomlKeys {
		for _, key := range keys {
			if table == "" && (key == "log" || key == "music" || key == "http" || key == "cluster" || key == "door") {
				continue // tables, each documented above its keys
			}
			if !strings.Contains(string(text), "\n"+key+" = ") && !strings.Contains(string(text), "# "+key+" = ") {
				t.Errorf("configs/knockbeepd.toml does not document %s%s", map[bool]string{true: "[" + table + "] ", false: ""}[table != ""], key)
			}
		}
	}
}

// The example doors in configs/knockbeepd.toml's comments are valid.
func TestShippedTOMLExampleDoors(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "..", "configs", "knockbeepd.toml"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(text), "# --- example doors")
	example, _, ok2 := strings.Cut(rest, "# --- end of example doors")
	if !ok || !ok2 {
		t.Fatal("configs/knockbeepd.toml lost its example-door markers")
	}
	var uncommented strings.Builder
	for _, line := range strings.Split(example, "\n")[1:] {
		uncommented.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "#"), " ") + "\n")
	}
	c, err := Parse("example-doors.toml", []byte(uncommented.String()))
	if err != nil {
		t.Fatalf("example doors do not parse: %v\n%s", err, uncommented.String())
	}
	if len(c.Doors) != 2 || c.Doors[0].Name != "ssh" || len(c.Doors[0].Start.Argv) != 7 || !c.Doors[1].Start.Shell {
		t.Errorf("example doors = %+v", c.Doors)
	}
	checkRoundTrip(t, c)
}

// Validate checks a Config changed in code (by command-line flags, say):
// the same rules as Parse, without line numbers.
func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   string
	}{
		{
			name:   "defaults",
			change: func(c *Config) {},
			want:   "<nil>",
		},
		{
			name:   "a door on the ensemble port names it",
			change: func(c *Config) { c.Doors = []knock.Door{door("ssh", tcp(7000), tcp(1003))} },
			want:   `config: door "ssh": port 1003/tcp is also the music ensemble_port: choose another port for the door, or move the music ports in [music]`,
		},
		{
			name:   "no ensemble port, the same door is fine",
			change: func(c *Config) { c.Doors = []knock.Door{door("ssh", tcp(7000), tcp(1003))}; c.Music.EnsemblePort = 0 },
			want:   "<nil>",
		},
		{
			name:   "a door on the music play port names both",
			change: func(c *Config) { c.Doors = []knock.Door{door("ssh", tcp(7000), tcp(1002))} },
			want:   `config: door "ssh": port 1002/tcp is also the music play_port: choose another port for the door, or move the music ports in [music]`,
		},
		{
			name: "music off, the same door is fine",
			change: func(c *Config) {
				c.Music.Enabled = false
				c.Doors = []knock.Door{door("ssh", tcp(7000), tcp(1002))}
			},
			want: "<nil>",
		},
		{
			name:   "duplicate names",
			change: func(c *Config) { c.Doors = []knock.Door{door("a", tcp(1)), door("a", tcp(2))} },
			want:   `config: door "a" is defined twice: door names must be unique`,
		},
		{
			name:   "unnamed door without steps",
			change: func(c *Config) { c.Doors = []knock.Door{door("")} },
			want: lines(
				`config: door #1 has no sequence: give sequence, one_time_sequences or secret_file`,
				`config: door #1 has no name: every door needs a unique name`),
		},
		{
			name: "shell and argv mixed in one door",
			change: func(c *Config) {
				d := door("m", tcp(7000))
				d.Start = shell("echo start")
				d.Stop = knock.Command{Argv: []string{"echo", "stop"}}
				c.Doors = []knock.Door{d}
			},
			want: `config: door "m": start_command runs through the shell but stop_command does not: a door's commands all use the shell (shell = true) or none do`,
		},
		{
			name: "shell command of two strings",
			change: func(c *Config) {
				d := door("m", tcp(7000))
				d.Start = knock.Command{Argv: []string{"echo", "x"}, Shell: true}
				c.Doors = []knock.Door{d}
			},
			want: `config: door "m": start_command runs through the shell, so it must be one string`,
		},
		{
			name: "flag both set and clear",
			change: func(c *Config) {
				d := door("f", tcp(7000))
				d.Flags = knock.FlagMatch{Set: knock.SYN, Clear: knock.SYN}
				c.Doors = []knock.Door{d}
			},
			want: `config: door "f": tcpflags asks for flags both set and clear, or unknown flags`,
		},
		{
			name: "zero timeout",
			change: func(c *Config) {
				d := door("z", tcp(7000))
				d.Timeout = 0
				c.Doors = []knock.Door{d}
			},
			want: `config: door "z": timeout = "0s": must be more than 0`,
		},
		{
			name:   "interface any among names (a -i flag added to a config)",
			change: func(c *Config) { c.Interfaces = []string{"eth0", "any"} },
			want:   `config: interfaces: "any" means every interface: give it alone, or list interfaces by name`,
		},
		{
			name:   "unmasked network",
			change: func(c *Config) { c.Music.Allow = []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24")} },
			want:   `config: [music] allow: 192.0.2.1/24 has bits set past the prefix length: did you mean 192.0.2.0/24?`,
		},
		{
			name:   "empty state dir",
			change: func(c *Config) { c.StateDir = "" },
			want:   `config: state_dir is empty: give the directory for pools and played songs (default /var/lib/knockbeep)`,
		},
		{
			name:   "zero step",
			change: func(c *Config) { c.Music.Protocol.Step = 0 },
			want:   `config: [music] step = "0s": must be at least 1ms`,
		},
		{
			// What the music doors could not play (sequence.MaxStepLength)
			// is refused when the config is read, not when they start.
			name:   "step longer than a pool step may be",
			change: func(c *Config) { c.Music.Protocol.Step = 6 * time.Minute },
			want:   `config: [music] step = "6m0s": must be at most 5m0s`,
		},
		{
			name:   "default frequency below the speaker's",
			change: func(c *Config) { c.Music.Protocol.DefaultFreq = 19 },
			want:   `config: [music] default_freq = 19: must be 20-20000 Hz`,
		},
		{
			name: "disabled door without a reason",
			change: func(c *Config) {
				c.Disabled = []DisabledDoor{{Door: door("d")}}
			},
			want: `config: door "d" is disabled without a reason`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(c)
			if got := errText(c.Validate()); got != tt.want {
				t.Errorf("Validate (-want +got):\n-%s\n+%s", tt.want, got)
			}
		})
	}
}

// ConvertKnockd keeps each comment above the TOML counterpart of what it
// was above, and its output means what the knockd.conf meant.
func TestConvertKnockd(t *testing.T) {
	in := `# knockd.conf for the office gateway.
[options]
	# Everything goes to syslog.
	UseSyslog
	# The uplink.
	Interface = eth1

# Let the admins in.
[openSSH]
	# Three ports, SYNs only.
	sequence    = 7000,8000,9000
	tcpflags    = syn
	# Short: scanners are slow.
	seq_timeout = 5
	# Only meaningful with a stop command; kept anyway.
	cmd_timeout = 10
	command     = /sbin/iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT
# end of file
`
	want := `# knockbeepd configuration converted from office.conf.
# Every setting is written out; configs/knockbeepd.toml documents each.

# knockd.conf for the office gateway.
# The uplink.
interfaces = ["eth1"]
speaker = "auto"
state_dir = "/var/lib/knockbeep"
pid_file = ""
max_attempts = 65536
rate_limit = 0
rate_burst = 0

[http]
listen = ""

[log]
level = "info"
format = "text"
stderr = false
# Everything goes to syslog.
syslog = true
file = ""

[music]
enabled = false
tone_port = 1000
silence_port = 1001
play_port = 1002
pitch_base = 2000
note_base = 32768
note_unit = "25ms"
step = "100ms"
default_freq = 440.0
pools = "per-source"
max_steps = 10000
max_pools = 1024
allow = []
queue = 8
refusal_log_interval = "10s"
keep_played = 100
keep_played_mib = 256
pool_idle_timeout = "10m0s"
morse_wpm = 20
ensemble_port = 1003

# Let the admins in.
[[door]]
name = "openSSH"
# Three ports, SYNs only.
sequence = ["7000", "8000", "9000"]
tcpflags = "syn"
# Short: scanners are slow.
timeout = "5s"
shell = true
start_command = "/sbin/iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT"
# Only meaningful with a stop command; kept anyway.
# end of file
`
	var out bytes.Buffer
	if err := ConvertKnockd("office.conf", []byte(in), &out); err != nil {
		t.Fatalf("ConvertKnockd: %v", err)
	}
	if d := lineDiff(want, out.String()); d != "" {
		t.Errorf("ConvertKnockd (-want +got):\n%s", d)
	}
	fromKnockd, err := Parse("office.conf", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	fromTOML, err := Parse("office.toml", out.Bytes())
	if err != nil {
		t.Fatalf("converted TOML does not parse: %v", err)
	}
	if d := configDiff(t, fromKnockd, fromTOML); d != "" {
		t.Errorf("converted config differs from the knockd.conf (-want +got):\n%s", d)
	}
}

func TestConvertKnockdRejects(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"a TOML file", "[[door]]\nname = \"x\"\nsequence = \"1\"\n", "config: k.conf: this is not a knockd.conf (it reads as toml): only knockd.conf files are converted"},
		{"a broken knockd.conf", "[options]\nColour = red\n", `config: k.conf: line 2: [options]: unknown key "Colour": knockd's options are UseSyslog, LogFile, PidFile and Interface`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := ConvertKnockd("k.conf", []byte(tt.text), &out)
			if got := errText(err); got != tt.want {
				t.Errorf("ConvertKnockd error (-want +got):\n-%s\n+%s", tt.want, got)
			}
			if out.Len() != 0 {
				t.Errorf("ConvertKnockd wrote output with its error:\n%s", out.String())
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	keys := tomlKeys["door"]
	tests := []struct {
		word, want string
	}{
		{"sequense", ` (did you mean "sequence"?)`},
		{"seqeunce", ` (did you mean "sequence"?)`}, // swapped letters are one edit
		{"Sequence", ` (did you mean "sequence"?)`},
		{"cmd_timout", ` (did you mean "cmd_timeout"?)`},
		{"stop_command6", ` (did you mean "stop_command_6"?)`},
		{"ab", ""},
		{"password", ""},
	}
	for _, tt := range tests {
		t.Run(tt.word, func(t *testing.T) {
			if got := suggest(tt.word, keys); got != tt.want {
				t.Errorf("suggest(%q) = %q, want %q", tt.word, got, tt.want)
			}
		})
	}
}

func TestDurationsRoundTrip(t *testing.T) {
	// Odd durations survive WriteTOML exactly.
	c := Default()
	c.Music.Protocol.Step = 1234567 * time.Nanosecond
	c.Music.RefusalLogInterval = 90*time.Minute + 1
	checkRoundTrip(t, c)
}
