package config

import (
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/fleet/fleetconfig"
)

// tomlDefault is what a TOML file that sets nothing parses to.
func tomlDefault() *Config {
	c := Default()
	c.Source = FormatTOML
	return c
}

func tcp(port uint16) knock.Step { return knock.Step{Proto: knock.TCP, Port: port} }
func udp(port uint16) knock.Step { return knock.Step{Proto: knock.UDP, Port: port} }

func door(name string, steps ...knock.Step) knock.Door {
	d := defaultDoor()
	d.Name = name
	d.Sequence = steps
	return d
}

var tomlTests = []struct {
	name string
	text string
	want func(c *Config)
}{
	{
		name: "empty file is the defaults",
		text: "",
		want: func(c *Config) {},
	},
	{
		name: "comments and blank lines only",
		text: "# nothing here\n\n   # still nothing\n",
		want: func(c *Config) {},
	},
	{
		name: "global settings",
		text: `interfaces = ["eth0", "wlan0"]
speaker = "wav:played/"
state_dir = "/srv/knockbeep"
pid_file = "/run/knockbeepd.pid"
max_attempts = 1000
`,
		want: func(c *Config) {
			c.Interfaces = []string{"eth0", "wlan0"}
			c.Speaker = "wav:played/"
			c.StateDir = "/srv/knockbeep"
			c.PidFile = "/run/knockbeepd.pid"
			c.MaxAttempts = 1000
		},
	},
	{
		name: "interfaces any as a string means every interface",
		text: `interfaces = "any"`,
		want: func(c *Config) {},
	},
	{
		name: "one interface as a string",
		text: `interfaces = "lo"`,
		want: func(c *Config) { c.Interfaces = []string{"lo"} },
	},
	{
		name: "log to syslog and a file as json at debug level",
		text: `[log]
level = "debug"
format = "json"
stderr = false
syslog = true
file = "knockbeepd.log"
`,
		want: func(c *Config) {
			c.Log = Log{Level: slog.LevelDebug, Format: LogJSON, Syslog: true, File: "knockbeepd.log"}
		},
	},
	{
		name: "every music setting",
		text: `[music]
enabled = true
tone_port = 3000
silence_port = 3001
play_port = 3002
pitch_base = 0
step = "50ms"
default_freq = 880
pools = "shared"
max_steps = 500
max_pools = 10
allow = ["192.0.2.0/24", "2001:db8::/32", "198.51.100.7"]
queue = 0
refusal_log_interval = "1m"
keep_played = 0
keep_played_mib = 1024
pool_idle_timeout = "1h"
`,
		want: func(c *Config) {
			m := &c.Music
			m.Protocol.TonePort, m.Protocol.SilencePort, m.Protocol.PlayPort, m.Protocol.PitchBase = 3000, 3001, 3002, 0
			m.Protocol.Step = 50 * time.Millisecond
			m.Protocol.DefaultFreq = 880
			m.Pools = PoolsShared
			m.MaxPoolSteps, m.MaxPools, m.QueueLen = 500, 10, 0
			m.Allow = []netip.Prefix{
				netip.MustParsePrefix("192.0.2.0/24"),
				netip.MustParsePrefix("2001:db8::/32"),
				netip.MustParsePrefix("198.51.100.7/32"),
			}
			m.RefusalLogInterval = time.Minute
			m.KeepPlayed, m.KeepPlayedMiB = 0, 1024
			m.PoolIdleTimeout = time.Hour
		},
	},
	{
		name: "a door with every key, commands as argv",
		text: `[[door]]
name = "ssh"
sequence = ["7000", "8000:udp", "9000:tcp"]
tcpflags = "syn,!ack"
timeout = "10s"
timeout_mode = "gap"
allow_duplicates = true
cooldown = "1m"
target = ["192.0.2.10", "2001:db8::10"]
start_command = ["/usr/sbin/nft", "add", "element", "inet", "filter", "knocked4", "{ %IP% }"]
start_command_6 = ["/usr/sbin/nft", "add", "element", "inet", "filter", "knocked6", "{ %IP% }"]
stop_command = ["/usr/sbin/nft", "delete", "element", "inet", "filter", "knocked4", "{ %IP% }"]
stop_command_6 = ["/usr/sbin/nft", "delete", "element", "inet", "filter", "knocked6", "{ %IP% }"]
cmd_timeout = "30s"
command_timeout = "5m"
reopen = true
`,
		want: func(c *Config) {
			d := door("ssh", tcp(7000), udp(8000), tcp(9000))
			d.Flags = knock.FlagMatch{Set: knock.SYN, Clear: knock.ACK}
			d.Timeout = 10 * time.Second
			d.TimeoutMode = knock.TimeoutGap
			d.AllowDuplicates = true
			d.Cooldown = time.Minute
			d.Targets = []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::10")}
			d.Start = knock.Command{Argv: []string{"/usr/sbin/nft", "add", "element", "inet", "filter", "knocked4", "{ %IP% }"}}
			d.Start6 = knock.Command{Argv: []string{"/usr/sbin/nft", "add", "element", "inet", "filter", "knocked6", "{ %IP% }"}}
			d.Stop = knock.Command{Argv: []string{"/usr/sbin/nft", "delete", "element", "inet", "filter", "knocked4", "{ %IP% }"}}
			d.Stop6 = knock.Command{Argv: []string{"/usr/sbin/nft", "delete", "element", "inet", "filter", "knocked6", "{ %IP% }"}}
			d.StopDelay = 30 * time.Second
			d.CommandTimeout = 5 * time.Minute
			d.Reopen = true
			c.Doors = []knock.Door{d}
		},
	},
	{
		name: "command_timeout 0s: no limit, as knockd",
		text: `[[door]]
name = "backup"
sequence = "4000"
start_command = ["/usr/local/bin/backup-now"]
command_timeout = "0s"
`,
		want: func(c *Config) {
			d := door("backup", tcp(4000))
			d.Start = knock.Command{Argv: []string{"/usr/local/bin/backup-now"}}
			d.CommandTimeout = 0
			c.Doors = []knock.Door{d}
		},
	},
	{
		name: "shell commands are strings",
		text: `[[door]]
name = "log"
sequence = "4000"
shell = true
start_command = "logger 'knock from %IP%' && touch /run/knocked"
stop_command = "rm -f /run/knocked"
`,
		want: func(c *Config) {
			d := door("log", tcp(4000))
			d.Start = knock.Command{Argv: []string{"logger 'knock from %IP%' && touch /run/knocked"}, Shell: true}
			d.Stop = knock.Command{Argv: []string{"rm -f /run/knocked"}, Shell: true}
			c.Doors = []knock.Door{d}
		},
	},
	{
		name: "sequence as one knockd-style string, spaces and case tolerated",
		text: `[[door]]
name = "a"
sequence = " 7000 , 8000:UDP,9000 : Tcp "
`,
		want: func(c *Config) { c.Doors = []knock.Door{door("a", tcp(7000), udp(8000), tcp(9000))} },
	},
	{
		name: "sequence of integers, ports repeating",
		text: `[[door]]
name = "a"
sequence = [5000, 5000, "5001:udp"]
`,
		want: func(c *Config) { c.Doors = []knock.Door{door("a", tcp(5000), tcp(5000), udp(5001))} },
	},
	{
		name: "doors keep file order, target as a string",
		text: `[[door]]
name = "second-in-name-first-in-file"
sequence = ["7000"]
target = "192.0.2.1"

[[door]]
name = "a-door"
sequence = ["7000", "8000"]
`,
		want: func(c *Config) {
			first := door("second-in-name-first-in-file", tcp(7000))
			first.Targets = []netip.Addr{netip.MustParseAddr("192.0.2.1")}
			c.Doors = []knock.Door{first, door("a-door", tcp(7000), tcp(8000))}
		},
	},
	{
		name: "a door may use a music port number over udp",
		text: `[[door]]
name = "u"
sequence = ["1000:udp", "1002:udp"]
`,
		want: func(c *Config) { c.Doors = []knock.Door{door("u", udp(1000), udp(1002))} },
	},
	{
		name: "music off frees its ports for doors",
		text: `[music]
enabled = false

[[door]]
name = "m"
sequence = ["1000", "1001", "2060"]
`,
		want: func(c *Config) {
			c.Music.Enabled = false
			c.Doors = []knock.Door{door("m", tcp(1000), tcp(1001), tcp(2060))}
		},
	},
	{
		name: "pitch ports off frees them",
		text: `[music]
pitch_base = 0

[[door]]
name = "p"
sequence = ["2000", "2127"]
`,
		want: func(c *Config) {
			c.Music.Protocol.PitchBase = 0
			c.Doors = []knock.Door{door("p", tcp(2000), tcp(2127))}
		},
	},
	{
		name: "cmd_timeout without a stop command is kept",
		text: `[[door]]
name = "c"
sequence = ["7000"]
cmd_timeout = "0s"
`,
		want: func(c *Config) {
			d := door("c", tcp(7000))
			d.StopDelay = 0
			c.Doors = []knock.Door{d}
		},
	},
	{
		name: "32 steps is the most",
		text: `[[door]]
name = "long"
sequence = "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32"
`,
		want: func(c *Config) {
			d := door("long")
			for p := uint16(1); p <= 32; p++ {
				d.Sequence = append(d.Sequence, tcp(p))
			}
			c.Doors = []knock.Door{d}
		},
	},
	{
		name: "an embedded fleet node and a fleet door",
		text: `[cluster]
name = "web"
node_key = "/etc/knockbeep/node.key"
trust = "/etc/knockbeep/fleet.pub"
serve = "10.0.0.1:4222"
routes = ["nats-route://10.0.0.2:6222", "nats-route://10.0.0.3:6222"]
cluster_listen = "10.0.0.1:7222"
server_program = "/opt/knockbeep/libexec/knockbeep-nats"
replicas = 3
[[door]]
name = "ssh"
sequence = "7000"
fleet = true
`,
		want: func(c *Config) {
			c.Cluster = fleetconfig.Config{Name: "web", NodeKey: "/etc/knockbeep/node.key", Trust: "/etc/knockbeep/fleet.pub",
				Serve: "10.0.0.1:4222", Routes: []string{"nats-route://10.0.0.2:6222", "nats-route://10.0.0.3:6222"},
				ClusterListen: "10.0.0.1:7222", ServerProgram: "/opt/knockbeep/libexec/knockbeep-nats", Replicas: 3}
			d := door("ssh", tcp(7000))
			d.Fleet = true
			c.Doors = []knock.Door{d}
		},
	},
	{
		name: "a door of the fleet's users",
		text: `[cluster]
name = "web"
node_key = "k"
trust = "t"
serve = "10.0.0.1:4222"
[[door]]
name = "team"
fleet_users = true
start_command = ["true"]
`,
		want: func(c *Config) {
			c.Cluster = fleetconfig.Config{Name: "web", NodeKey: "k", Trust: "t", Serve: "10.0.0.1:4222"}
			d := defaultDoor()
			d.Name = "team"
			r := DefaultRotating()
			r.FleetUsers = true
			d.Rotating = &r
			d.Start = knock.Command{Argv: []string{"true"}}
			c.Doors = []knock.Door{d}
		},
	},
	{
		name: "a fleet node on an external cluster",
		text: `[cluster]
name = "web"
node_key = "k"
trust = "t"
nats = "tls://nats1.example.net:4222"
credentials = "f.creds"
tls_ca = "ca.pem"
`,
		want: func(c *Config) {
			c.Cluster = fleetconfig.Config{Name: "web", NodeKey: "k", Trust: "t", NATS: []string{"tls://nats1.example.net:4222"},
				Credentials: "f.creds", TLSCA: "ca.pem"}
		},
	},
	{
		name: "dotted keys and inline tables are TOML too",
		text: `log.level = "warn"
music = { queue = 2 }
door = [{ name = "i", sequence = "7000" }]
`,
		want: func(c *Config) {
			c.Log.Level = slog.LevelWarn
			c.Music.QueueLen = 2
			c.Doors = []knock.Door{door("i", tcp(7000))}
		},
	},
}

// TestDoorsWithoutMusicTable: a config written for doors opens no music
// ports to everyone unless it has a [music] table; no config at all, or a
// config without doors, is still the music daemon.
func TestDoorsWithoutMusicTable(t *testing.T) {
	tests := []struct {
		name, text string
		music      bool
	}{
		{"doors, no [music]", "[[door]]\nname = \"ssh\"\nsequence = \"7000\"\n", false},
		{"doors and an empty [music]", "[music]\n[[door]]\nname = \"ssh\"\nsequence = \"7000\"\n", true},
		{"no doors", "speaker = \"none\"\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("k.toml", []byte(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			if c.Music.Enabled != tt.music {
				t.Errorf("music enabled = %v, want %v", c.Music.Enabled, tt.music)
			}
		})
	}
}

func TestParseTOML(t *testing.T) {
	for _, tt := range tomlTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("knockbeepd.toml", []byte(tt.text))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := tomlDefault()
			tt.want(want)
			if len(want.Doors)+len(want.Disabled) > 0 && !strings.Contains(tt.text, "music") {
				// A config with doors and no [music] runs no music doors
				// (TestDoorsWithoutMusicTable).
				want.Music.Enabled = false
			}
			if got.Source != FormatTOML {
				t.Errorf("Source = %v, want toml", got.Source)
			}
			if d := configDiff(t, want, got); d != "" {
				t.Errorf("Parse (-want +got):\n%s", d)
			}
			checkRoundTrip(t, got)
		})
	}
}

var tomlErrorTests = []struct {
	name string
	text string
	want string
}{
	{
		name: "misspelt top-level key gets a suggestion",
		text: "speker = \"auto\"\n",
		want: `config: k.toml: line 1: unknown key "speker" (did you mean "speaker"?)`,
	},
	{
		name: "unknown key with nothing close gets no suggestion",
		text: "\n\ncolour = \"red\"\n",
		want: `config: k.toml: line 3: unknown key "colour"`,
	},
	{
		name: "misspelt door key names the door and the line",
		text: `# A config with a typo on line 12.
speaker = "auto"

[music]
enabled = true

[[door]]
name = "web"
sequence = ["6000"]

[[door]]
name = "ssh"
sequense = ["7000", "8000", "9000"]
`,
		want: `config: k.toml: line 13: door "ssh": unknown key "sequense" (did you mean "sequence"?)`,
	},
	{
		name: "the same unknown key in two doors is reported in each",
		text: `[[door]]
name = "a"
sequence = ["1"]
tiemout = "5s"

[[door]]
name = "b"
sequence = ["2"]
tiemout = "5s"
`,
		want: lines(
			`config: k.toml: line 4: door "a": unknown key "tiemout" (did you mean "timeout"?)`,
			`config: k.toml: line 9: door "b": unknown key "tiemout" (did you mean "timeout"?)`),
	},
	{
		name: "keys are case-sensitive",
		text: "Speaker = \"auto\"\n",
		want: `config: k.toml: line 1: unknown key "Speaker" (did you mean "speaker"?)`,
	},
	{
		name: "unknown table is reported once at its header",
		text: "[musik]\ntone_port = 1000\nplay_port = 1002\n",
		want: `config: k.toml: line 1: unknown key "musik" (did you mean "music"?)`,
	},
	{
		name: "unknown key in [music]",
		text: "[music]\ntone_prot = 1000\n",
		want: `config: k.toml: line 2: [music] unknown key "tone_prot" (did you mean "tone_port"?)`,
	},
	{
		name: "music port out of range",
		text: "[music]\n\ntone_port = 70000\n",
		want: `config: k.toml: line 3: [music] tone_port: port 70000 is out of range 1-65535`,
	},
	{
		name: "door port out of range",
		text: "[[door]]\nname = \"x\"\nsequence = [\"7000\", \"70000\"]\n",
		want: `config: k.toml: line 3: door "x": sequence: port 70000 is out of range 1-65535`,
	},
	{
		name: "port zero",
		text: "[[door]]\nname = \"x\"\nsequence = \"0\"\n",
		want: `config: k.toml: line 3: door "x": sequence: port 0 is out of range 1-65535`,
	},
	{
		name: "unknown protocol",
		text: "[[door]]\nname = \"x\"\nsequence = \"7000:icmp\"\n",
		want: `config: k.toml: line 3: door "x": sequence: unknown protocol "icmp" in "7000:icmp": use tcp or udp`,
	},
	{
		name: "33 steps is too many",
		text: "[[door]]\nname = \"x\"\nsequence = \"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33\"\n",
		want: `config: k.toml: line 3: door "x": sequence: sequence has 33 ports, at most 32 are allowed`,
	},
	{
		name: "empty sequence array",
		text: "[[door]]\nname = \"x\"\nsequence = []\n",
		want: `config: k.toml: line 3: door "x": sequence: 0 ports: give 1 to 32`,
	},
	{
		name: "bad duration",
		text: "[[door]]\nname = \"x\"\nsequence = \"7000\"\ntimeout = \"10x\"\n",
		want: `config: k.toml: line 4: door "x": timeout: "10x" is not a duration: write a number and a unit, such as "25s", "1m30s" or "100ms"`,
	},
	{
		name: "duration without a unit",
		text: "[music]\nstep = 100\n",
		want: `config: k.toml: line 2: [music] step: 100 has no unit: write a duration such as "100s" or "100ms"`,
	},
	{
		name: "negative timeout",
		text: "[[door]]\nname = \"x\"\nsequence = \"7000\"\ntimeout = \"-5s\"\n",
		want: `config: k.toml: line 4: door "x": timeout = "-5s": must be more than 0`,
	},
	{
		name: "unknown tcp flag with a suggestion",
		text: "[[door]]\nname = \"x\"\nsequence = \"7000\"\ntcpflags = \"sin,!ack\"\n",
		want: `config: k.toml: line 4: door "x": tcpflags: unknown tcp flag "sin" (did you mean "syn"?): use fin, syn, rst, psh, ack, urg, each optionally prefixed with ! (must be clear)`,
	},
	{
		name: "a flag both set and clear",
		text: "[[door]]\nname = \"x\"\nsequence = \"7000\"\ntcpflags = \"syn,!syn\"\n",
		want: `config: k.toml: line 4: door "x": tcpflags: tcp flag syn is given twice`,
	},
	{
		name: "network with host bits",
		text: "[music]\nallow = [\"10.1.2.3/8\"]\n",
		want: `config: k.toml: line 2: [music] allow: 10.1.2.3/8 has bits set past the prefix length: did you mean 10.0.0.0/8?`,
	},
	{
		name: "not a network",
		text: "[music]\nallow = [\"10.0.0.0/33\"]\n",
		want: `config: k.toml: line 2: [music] allow: "10.0.0.0/33" is not a network (e.g. "192.0.2.0/24", "2001:db8::/32")`,
	},
	{
		name: "wrong type",
		text: "speaker = 5\n",
		want: `config: k.toml: line 1: speaker: want a string, not an integer`,
	},
	{
		name: "table where a string belongs",
		text: "speaker = { kind = \"wav\" }\n",
		want: `config: k.toml: line 1: speaker: want a string, not a table`,
	},
	{
		name: "door without a name",
		text: "[[door]]\nsequence = \"7000\"\n",
		want: `config: k.toml: line 1: door #1 has no name: every door needs a unique name`,
	},
	{
		name: "door without a sequence",
		text: "\n[[door]]\nname = \"x\"\n",
		want: `config: k.toml: line 2: door "x" has no sequence: give sequence = ["7000", "8000:udp", "9000"], one_time_sequences = FILE or secret_file = FILE`,
	},
	{
		name: "door with both sequence and one-time sequences",
		text: "[[door]]\nname = \"x\"\nsequence = \"7000\"\none_time_sequences = \"seqs\"\n",
		want: `config: k.toml: line 4: door "x" has both sequence and one_time_sequences: keep one`,
	},
	{
		name: "duplicate door names",
		text: "[[door]]\nname = \"x\"\nsequence = \"7000\"\n[[door]]\nname = \"x\"\nsequence = \"8000\"\n",
		want: `config: k.toml: line 5: door "x" is defined twice (first on line 2): door names must be unique`,
	},
	{
		name: "door on the music silence port",
		text: "[music]\n[[door]]\nname = \"x\"\nsequence = [\"7000\", \"1001\"]\n",
		want: `config: k.toml: line 4: door "x": port 1001/tcp is also the music silence_port: choose another port for the door, or move the music ports in [music]`,
	},
	{
		name: "door on a music pitch port",
		text: "[music]\n[[door]]\nname = \"x\"\nsequence = \"2060\"\n",
		want: `config: k.toml: line 4: door "x": port 2060/tcp is also the music pitch port (pitch_base 2000 + note 60): choose another port for the door, or move the music ports in [music]`,
	},
	{
		name: "music ports must differ",
		text: "[music]\ntone_port = 1001\n",
		want: `config: k.toml: line 2: [music] silence_port = 1001 is also tone_port: the music ports must differ`,
	},
	{
		name: "the ensemble port must not be a music port",
		text: "[music]\nensemble_port = 1002\n",
		want: `config: k.toml: line 2: [music] ensemble_port = 1002 is also the play_port: give it a port of its own (or 0 for no ensemble knock)`,
	},
	{
		name: "the ensemble port must not be a pitch port",
		text: "[music]\nensemble_port = 2060\n",
		want: `config: k.toml: line 2: [music] ensemble_port = 2060 is also the pitch port (pitch_base 2000 + note 60): give it a port of its own (or 0 for no ensemble knock)`,
	},
	{
		name: "pitch ports must not cover the other music ports",
		text: "[music]\npitch_base = 950\n",
		want: lines(
			`config: k.toml: line 2: [music] tone_port = 1000 is inside the pitch ports 950-1077 (pitch_base = 950)`,
			`config: k.toml: line 2: [music] silence_port = 1001 is inside the pitch ports 950-1077 (pitch_base = 950)`,
			`config: k.toml: line 2: [music] play_port = 1002 is inside the pitch ports 950-1077 (pitch_base = 950)`),
	},
	{
		name: "note ports past 65535",
		text: "[music]\nnote_base = 40000\n",
		want: `config: k.toml: line 2: [music] note_base = 40000: the note ports run to note_base+32767, at most 65535, so it must be at most 32768 (or 0 for no note knocks)`,
	},
	{
		name: "note unit too long",
		text: "[music]\nnote_unit = \"2s\"\n",
		want: `config: k.toml: line 2: [music] note_unit = "2s": must be 1ms-1s`,
	},
	{
		name: "door on a note port",
		text: "[music]\n[[door]]\nname = \"ssh\"\nsequence = [\"40000\", \"7000\"]\nstart_command = [\"true\"]\n",
		want: `config: k.toml: line 4: door "ssh": port 40000/tcp is also the music note port (note_base 32768 + 7232; note knocks take 32768-65535): choose another port for the door, or move the music ports in [music]`,
	},
	{
		name: "pitch ports past 65535",
		text: "[music]\nnote_base = 0\npitch_base = 65500\n",
		want: `config: k.toml: line 3: [music] pitch_base = 65500: the pitch ports run to pitch_base+127, at most 65535, so it must be at most 65408 (or 0 for no pitch knocks)`,
	},
	{
		name: "inaudible default frequency",
		text: "[music]\ndefault_freq = 5.5\n",
		want: `config: k.toml: line 2: [music] default_freq = 5.5: must be 20-20000 Hz`,
	},
	{
		name: "string command needs shell = true",
		text: "[[door]]\nname = \"x\"\nsequence = \"7000\"\nstart_command = \"iptables -A INPUT -s %IP% -j ACCEPT\"\n",
		want: `config: k.toml: line 4: door "x": start_command: a string is run through /bin/sh only with shell = true; otherwise give the program and its arguments as an array, e.g. ["/usr/sbin/nft", "add", "element", ...]`,
	},
	{
		name: "shell = true needs a string",
		text: "[[door]]\nname = \"x\"\nsequence = \"7000\"\nshell = true\nstop_command = [\"rm\", \"x\"]\n",
		want: `config: k.toml: line 5: door "x": stop_command: with shell = true a command is one string for /bin/sh -c, not an array`,
	},
	{
		name: "log must be a table",
		text: "log = 1\n",
		want: `config: k.toml: line 1: log must be a table ([log]), not an integer`,
	},
	{
		name: "door must be an array of tables",
		text: "[door]\nname = \"x\"\n",
		want: `config: k.toml: line 1: door must be written [[door]] (one per door), not a table`,
	},
	{
		name: "TOML syntax error keeps the parser's line",
		text: "speaker = \"auto\"\nstate_dir = \n",
		want: `config: k.toml: line 2: expected value but found '\n' instead`,
	},
	{
		name: "log sent nowhere",
		text: "[log]\nstderr = false\n",
		want: `config: k.toml: line 1: [log] sends the log nowhere: set stderr = true, syslog = true or file = PATH`,
	},
	{
		name: "unknown log level",
		text: "[log]\nlevel = \"loud\"\n",
		want: `config: k.toml: line 2: [log] level: level = "loud": use debug, info, warn or error`,
	},
	{
		name: "unknown log format",
		text: "[log]\nformat = \"jsno\"\n",
		want: `config: k.toml: line 2: [log] format = "jsno": use "text", "json" or "knockd" (did you mean "json"?)`,
	},
	{
		name: "any mixed with names",
		text: "interfaces = [\"any\", \"eth0\"]\n",
		want: `config: k.toml: line 1: interfaces: "any" means every interface: give it alone, or list interfaces by name`,
	},
	{
		name: "unknown speaker",
		text: "speaker = \"evdv\"\n",
		want: `config: k.toml: line 1: speaker: unknown speaker "evdv" (did you mean "evdev"?): use auto, evdev[:PATH], console[:PATH], speaker[:PATH], wav:PATH or none`,
	},
	{
		name: "wav speaker needs a path",
		text: "speaker = \"wav\"\n",
		want: `config: k.toml: line 1: speaker: wav needs a path: wav:FILE.wav or wav:DIRECTORY`,
	},
	{
		name: "auto speaker takes no path",
		text: "speaker = \"auto:/dev/tty0\"\n",
		want: `config: k.toml: line 1: speaker: auto takes no path; valid speakers: auto, evdev[:PATH], console[:PATH], speaker[:PATH], wav:PATH or none`,
	},
	{
		name: "keep_played negative",
		text: "[music]\nkeep_played = -1\n",
		want: `config: k.toml: line 2: [music] keep_played: -1 is out of range 0-2147483647`,
	},
	{
		name: "keep_played_mib not a number",
		text: "[music]\nkeep_played_mib = \"1GB\"\n",
		want: `config: k.toml: line 2: [music] keep_played_mib: want an integer, not a string`,
	},
	{
		name: "pool_idle_timeout negative",
		text: "[music]\npool_idle_timeout = \"-1m\"\n",
		want: `config: k.toml: line 2: [music] pool_idle_timeout = "-1m0s": must be 0s (never) or more`,
	},
	{
		name: "command_timeout negative",
		text: "[[door]]\nname = \"x\"\nsequence = \"7000\"\ncommand_timeout = \"-1s\"\n",
		want: `config: k.toml: line 4: door "x": command_timeout = "-1s": must be 0s (no limit) or more`,
	},
	{
		name: "command_timeout without a unit",
		text: "[[door]]\nname = \"x\"\nsequence = \"7000\"\ncommand_timeout = 30\n",
		want: `config: k.toml: line 4: door "x": command_timeout: 30 has no unit: write a duration such as "30s" or "30ms"`,
	},
	{
		name: "max_attempts zero",
		text: "max_attempts = 0\n",
		want: `config: k.toml: line 1: max_attempts: 0 is out of range 1-2147483647`,
	},
	{
		name: "unknown timeout mode",
		text: "[[door]]\nname = \"x\"\nsequence = \"7000\"\ntimeout_mode = \"last\"\n",
		want: `config: k.toml: line 4: door "x": timeout_mode: timeout_mode = "last": use "first" (from the first knock, as knockd) or "gap" (between knocks)`,
	},
	{
		name: "target must be an address",
		text: "[[door]]\nname = \"x\"\nsequence = \"7000\"\ntarget = \"example.com\"\n",
		want: `config: k.toml: line 4: door "x": target: "example.com" is not an IP address`,
	},
	{
		name: "several problems are all reported, by line",
		text: "[[door]]\nname = \"x\"\nsequence = \"70000\"\ncooldown = \"soon\"\n[music]\nqueue = -1\n",
		want: lines(
			`config: k.toml: line 3: door "x": sequence: port 70000 is out of range 1-65535`,
			`config: k.toml: line 4: door "x": cooldown: "soon" is not a duration: write a number and a unit, such as "25s", "1m30s" or "100ms"`,
			`config: k.toml: line 6: [music] queue: -1 is out of range 0-2147483647`),
	},
	{
		name: "cluster mistakes name their lines",
		text: `[cluster]
name = "a.b"
node_key = "k"
trust = "t"
serve = "4222"
nats = ["http://x"]
`,
		want: lines(
			`config: k.toml: line 2: [cluster] name "a.b": want 1 to 32 letters, digits, '-' or '_' (it names NATS subjects and buckets)`,
			`config: k.toml: line 5: [cluster] nats and serve are exclusive: point at an existing NATS cluster or run an embedded server, not both`,
			`config: k.toml: line 5: [cluster] serve "4222": want host:port: address 4222: missing port in address`,
			`config: k.toml: line 6: [cluster] nats: "http://x": want a nats:// URL`),
	},
	{
		name: "a cluster without a node key says what to do",
		text: "[cluster]\nname = \"web\"\ntrust = \"t\"\nserve = \":4222\"\n",
		want: `config: k.toml: line 1: [cluster] node_key is required: the path of this node's key (make one with knockbeepd --genkey --ed25519)`,
	},
	{
		name: "an empty cluster table",
		text: "speaker = \"none\"\n[cluster]\n",
		want: `config: k.toml: line 2: [cluster] is empty: give at least name, node_key, trust and nats or serve, or remove the table`,
	},
	{
		name: "unknown cluster key",
		text: "[cluster]\nname = \"web\"\nnode_key = \"k\"\ntrust = \"t\"\nserve = \":4222\"\nroute = []\n",
		want: `config: k.toml: line 6: [cluster] unknown key "route" (did you mean "routes"?)`,
	},
	{
		name: "cluster must be a table",
		text: "cluster = 1\n",
		want: `config: k.toml: line 1: cluster must be a table ([cluster]), not an integer`,
	},
	{
		name: "a fleet door needs a cluster",
		text: "[[door]]\nname = \"ssh\"\nsequence = \"7000\"\nfleet = true\n",
		want: `config: k.toml: line 4: door "ssh": fleet = true needs a [cluster] table: a door opens across a fleet only on a host that is in one`,
	},
	{
		name: "fleet is true or false",
		text: "[[door]]\nname = \"ssh\"\nsequence = \"7000\"\nfleet = \"yes\"\n",
		want: `config: k.toml: line 4: door "ssh": fleet: want true or false, not a string`,
	},
	{
		name: "line numbers survive multi-line strings and arrays",
		text: `speaker = """
auto"""
interfaces = [
  "eth0", # the uplink
  "eth1",
]
[[door]]
name = 'x'
sequence = "7000"
timeout = "1y"
`,
		want: `config: k.toml: line 10: door "x": timeout: "1y" is not a duration: write a number and a unit, such as "25s", "1m30s" or "100ms"`,
	},
}

func TestParseTOMLErrors(t *testing.T) {
	for _, tt := range tomlErrorTests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("k.toml", []byte(tt.text))
			if got := errText(err); got != tt.want {
				t.Errorf("Parse error (-want +got):\n-%s\n+%s", tt.want, got)
			}
			if c != nil {
				t.Errorf("Parse returned a config with its error")
			}
		})
	}
}
