package config

import (
	"errors"
	"io/fs"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
)

// knockdDefault is what a knockd.conf that sets no option parses to.
func knockdDefault() *Config {
	c := Default()
	c.Source = FormatKnockd
	c.Music.Enabled = false
	return c
}

func shell(cmd string) knock.Command { return knock.Command{Argv: []string{cmd}, Shell: true} }

var knockdTests = []struct {
	name string
	text string
	want func(c *Config)
}{
	{
		name: "a minimal door",
		text: "[d]\nsequence = 7000,8000,9000\n",
		want: func(c *Config) { c.Doors = []knock.Door{door("d", tcp(7000), tcp(8000), tcp(9000))} },
	},
	{
		name: "every option",
		text: `[options]
	UseSyslog
	LogFile = /var/log/knockd.log
	PidFile = /run/knockd.pid
	Interface = eth1
[d]
	Sequence = 1
`,
		want: func(c *Config) {
			c.Log.Syslog = true
			c.Log.File = "/var/log/knockd.log"
			c.Log.Format = LogKnockd
			c.Log.Stderr = false
			c.PidFile = "/run/knockd.pid"
			c.Interfaces = []string{"eth1"}
			c.Doors = []knock.Door{door("d", tcp(1))}
		},
	},
	{
		name: "Interface = any captures everywhere",
		text: "[options]\nInterface = any\n[d]\nSequence = 1\n",
		want: func(c *Config) { c.Doors = []knock.Door{door("d", tcp(1))} },
	},
	{
		name: "every door key, knockd's spelling",
		text: `[openclose]
	Sequence        = 2222:udp,3333:tcp,4444:UDP
	Seq_Timeout     = 15
	TCPFlags        = syn,!ack
	Start_Command   = /usr/sbin/iptables -A INPUT -s %IP% -p tcp --syn -j ACCEPT
	Start_Command_6 = /usr/sbin/ip6tables -A INPUT -s %IP% -p tcp --syn -j ACCEPT
	Cmd_Timeout     = 5
	Stop_Command    = /usr/sbin/iptables -D INPUT -s %IP% -p tcp --syn -j ACCEPT
	Stop_Command_6  = /usr/sbin/ip6tables -D INPUT -s %IP% -p tcp --syn -j ACCEPT
	Target          = 192.0.2.10
`,
		want: func(c *Config) {
			d := door("openclose", udp(2222), tcp(3333), udp(4444))
			d.Timeout = 15 * time.Second
			d.Flags = knock.FlagMatch{Set: knock.SYN, Clear: knock.ACK}
			d.Start = shell("/usr/sbin/iptables -A INPUT -s %IP% -p tcp --syn -j ACCEPT")
			d.Start6 = shell("/usr/sbin/ip6tables -A INPUT -s %IP% -p tcp --syn -j ACCEPT")
			d.StopDelay = 5 * time.Second
			d.Stop = shell("/usr/sbin/iptables -D INPUT -s %IP% -p tcp --syn -j ACCEPT")
			d.Stop6 = shell("/usr/sbin/ip6tables -D INPUT -s %IP% -p tcp --syn -j ACCEPT")
			d.Targets = []netip.Addr{netip.MustParseAddr("192.0.2.10")}
			c.Doors = []knock.Door{d}
		},
	},
	{
		name: "aliases and case-insensitive keys",
		text: "[d]\nSEQUENCE = 1\ntimeout = 3\nCommand = a\ncommand_6 = b\n",
		want: func(c *Config) {
			d := door("d", tcp(1))
			d.Timeout = 3 * time.Second
			d.Start, d.Start6 = shell("a"), shell("b")
			c.Doors = []knock.Door{d}
		},
	},
	{
		name: "UseSyslog is accepted in a door section and twice, as knockd does",
		text: "[options]\nUseSyslog\n[d]\nUseSyslog\nSequence = 1\n",
		want: func(c *Config) {
			c.Log.Syslog, c.Log.Stderr = true, false
			c.Doors = []knock.Door{door("d", tcp(1))}
		},
	},
	{
		name: "a # after the start of a line is part of the value",
		text: "[d]\nSequence = 1\nCommand = echo a # b\n",
		want: func(c *Config) {
			d := door("d", tcp(1))
			d.Start = shell("echo a # b")
			c.Doors = []knock.Door{d}
		},
	},
	{
		name: "an empty command runs nothing",
		text: "[d]\nSequence = 1\nCommand =\n",
		want: func(c *Config) { c.Doors = []knock.Door{door("d", tcp(1))} },
	},
	{
		name: "Cmd_Timeout 0 runs the stop command at once",
		text: "[d]\nSequence = 1\nCmd_Timeout = 0\nStop_Command = x\n",
		want: func(c *Config) {
			d := door("d", tcp(1))
			d.StopDelay = 0
			d.Stop = shell("x")
			c.Doors = []knock.Door{d}
		},
	},
	{
		name: "CRLF line endings, blank lines, indented comments, options twice",
		text: "\r\n  # c\r\n[options]\r\nUseSyslog\r\n\r\n[options]\r\nPidFile = p\r\n[d]\r\n\tSequence = 1:udp\r\n",
		want: func(c *Config) {
			c.Log.Syslog, c.Log.Stderr = true, false
			c.PidFile = "p"
			c.Doors = []knock.Door{door("d", udp(1))}
		},
	},
	{
		name: "door names keep their case and may contain spaces",
		text: "[Open SSH]\nSequence = 1\n[open ssh]\nSequence = 2\n",
		want: func(c *Config) { c.Doors = []knock.Door{door("Open SSH", tcp(1)), door("open ssh", tcp(2))} },
	},
	{
		name: "music ports are ordinary ports in a knockd.conf",
		text: "[d]\nSequence = 1000,1001,1002,2060\n",
		want: func(c *Config) { c.Doors = []knock.Door{door("d", tcp(1000), tcp(1001), tcp(1002), tcp(2060))} },
	},
}

func TestParseKnockd(t *testing.T) {
	for _, tt := range knockdTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("knockd.conf", []byte(tt.text))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.Source != FormatKnockd {
				t.Errorf("Source = %v, want knockd.conf", got.Source)
			}
			want := knockdDefault()
			tt.want(want)
			if d := configDiff(t, want, got); d != "" {
				t.Errorf("Parse (-want +got):\n%s", d)
			}
			checkRoundTrip(t, got)
		})
	}
}

var knockdErrorTests = []struct {
	name string
	text string
	want string
}{
	{
		name: "directive outside a section",
		text: "# comment\nSequence = 1\n[d]\nSequence = 1\n",
		want: `config: knockd.conf: line 2: all directives must belong to a section: put [options] or a [DoorName] header above "Sequence = 1"`,
	},
	{
		name: "empty section name",
		text: "[options]\n[]\n",
		want: `config: knockd.conf: line 2: bad section name: write [options] or [DoorName]`,
	},
	{
		name: "unknown option, with a suggestion",
		text: "[options]\nLogFil = /var/log/knockd.log\n",
		want: `config: knockd.conf: line 2: [options]: unknown key "LogFil" (did you mean "LogFile"?): knockd's options are UseSyslog, LogFile, PidFile and Interface`,
	},
	{
		name: "door key in [options]",
		text: "[options]\nSequence = 1\n",
		want: `config: knockd.conf: line 2: [options]: unknown key "Sequence": knockd's options are UseSyslog, LogFile, PidFile and Interface`,
	},
	{
		name: "UseSyslog takes no value",
		text: "[options]\nUseSyslog = yes\n",
		want: `config: knockd.conf: line 2: [options]: UseSyslog takes no value: write it alone on its line`,
	},
	{
		name: "misspelt door key",
		text: "[ssh]\nSequense = 7000,8000\n",
		want: `config: knockd.conf: line 2: door "ssh": unknown key "Sequense" (did you mean "Sequence"?)`,
	},
	{
		name: "option in a door section",
		text: "[d]\nSequence = 1\nLogFile = x\n",
		want: `config: knockd.conf: line 3: door "d": LogFile belongs in the [options] section`,
	},
	{
		name: "key without a value",
		text: "[d]\nSequence = 1\nCommand\n",
		want: `config: knockd.conf: line 3: door "d": syntax error: write Command = VALUE`,
	},
	{
		name: "port out of range",
		text: "[d]\nSequence = 7000,65536\n",
		want: `config: knockd.conf: line 2: door "d": Sequence: port 65536 is out of range 1-65535`,
	},
	{
		name: "port that is not a number",
		text: "[d]\nSequence = 7000,ssh\n",
		want: `config: knockd.conf: line 2: door "d": Sequence: port "ssh" is not a number`,
	},
	{
		name: "empty element",
		text: "[d]\nSequence = 7000,,8000\n",
		want: `config: knockd.conf: line 2: door "d": Sequence: missing port number`,
	},
	{
		name: "unknown protocol",
		text: "[d]\nSequence = 7000:sctp\n",
		want: `config: knockd.conf: line 2: door "d": Sequence: unknown protocol "sctp" in "7000:sctp": use tcp or udp`,
	},
	{
		name: "too many ports",
		text: "[d]\nSequence = 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33\n",
		want: `config: knockd.conf: line 2: door "d": Sequence: sequence has 33 ports, at most 32 are allowed`,
	},
	{
		name: "timeout that knockd's atoi would read as 5",
		text: "[d]\nSequence = 1\nSeq_Timeout = 5s\n",
		want: `config: knockd.conf: line 3: door "d": Seq_Timeout: "5s" is not a whole number of seconds greater than 0`,
	},
	{
		name: "zero timeout",
		text: "[d]\nSequence = 1\nTimeout = 0\n",
		want: `config: knockd.conf: line 3: door "d": Timeout: "0" is not a whole number of seconds greater than 0`,
	},
	{
		name: "negative cmd timeout",
		text: "[d]\nSequence = 1\nCmd_Timeout = -1\n",
		want: `config: knockd.conf: line 3: door "d": Cmd_Timeout: "-1" is not a whole number of seconds`,
	},
	{
		name: "unknown tcp flag",
		text: "[d]\nSequence = 1\nTCPFlags = syn,ackk\n",
		want: `config: knockd.conf: line 3: door "d": TCPFlags: unknown tcp flag "ackk" (did you mean "ack"?): use fin, syn, rst, psh, ack, urg, each optionally prefixed with ! (must be clear)`,
	},
	{
		name: "target that is not an address",
		text: "[d]\nSequence = 1\nTarget = gateway.example\n",
		want: `config: knockd.conf: line 3: door "d": Target: "gateway.example" is not an IP address`,
	},
	{
		name: "a key set twice",
		text: "[d]\nSequence = 1\nSequence = 2\n",
		want: `config: knockd.conf: line 3: door "d": Sequence is already set on line 2`,
	},
	{
		name: "a key set twice through its alias",
		text: "[d]\nSequence = 1\nStart_Command = a\nCommand = b\n",
		want: `config: knockd.conf: line 4: door "d": Command is already set on line 3`,
	},
	{
		name: "an option set twice",
		text: "[options]\nInterface = eth0\n[options]\nInterface = eth1\n",
		want: `config: knockd.conf: line 4: [options]: Interface is already set on line 2`,
	},
	{
		name: "door without a sequence",
		text: "[options]\nUseSyslog\n\n[lonely]\nCommand = true\n",
		want: `config: knockd.conf: line 4: door "lonely" has an empty knock sequence: give Sequence = PORT[:tcp|udp],... or One_Time_Sequences = FILE`,
	},
	{
		name: "Sequence and One_Time_Sequences",
		text: "[d]\nSequence = 1\nOne_Time_Sequences = /nonexistent\n",
		want: `config: knockd.conf: line 3: door "d": One_Time_Sequences: the door already has Sequence: keep one`,
	},
	{
		name: "the same door twice",
		text: "[d]\nSequence = 1\n[d]\nSequence = 2\n",
		want: `config: knockd.conf: line 3: door "d" is defined twice (first on line 1): door names must be unique`,
	},
	{
		name: "interface that is not a name",
		text: "[options]\nInterface = eth0 eth1\n",
		want: `config: knockd.conf: line 2: [options]: Interface: "eth0 eth1" is not an interface name`,
	},
	{
		name: "a comment that is not UTF-8 is fine, a value is not",
		text: "# caf\xe9\n[d]\nSequence = 1\nCommand = echo \xff\n",
		want: `config: knockd.conf: line 4: not valid UTF-8: save the file as UTF-8`,
	},
	{
		name: "not UTF-8",
		text: "[d]\nSequence = 1\nCommand = echo \xff\n",
		want: `config: knockd.conf: line 3: not valid UTF-8: save the file as UTF-8`,
	},
}

func TestParseKnockdErrors(t *testing.T) {
	for _, tt := range knockdErrorTests {
		t.Run(tt.name, func(t *testing.T) {
			if f := Detect([]byte(tt.text)); f != FormatKnockd {
				t.Fatalf("Detect = %v, want knockd.conf: the case tests the wrong parser", f)
			}
			c, err := Parse("knockd.conf", []byte(tt.text))
			if got := errText(err); got != tt.want {
				t.Errorf("Parse error (-want +got):\n-%s\n+%s", tt.want, got)
			}
			if c != nil {
				t.Errorf("Parse returned a config with its error")
			}
		})
	}
}

// Debian's /etc/knockd.conf, as its package ships it, loads unchanged.
func TestDebianKnockdConf(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "debian-knockd.conf"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := knockdDefault()
	want.Log.Syslog, want.Log.Stderr = true, false
	open := door("openSSH", tcp(7000), tcp(8000), tcp(9000))
	open.Timeout = 5 * time.Second
	open.Flags = knock.FlagMatch{Set: knock.SYN}
	open.Start = shell("/sbin/iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT")
	closeSSH := door("closeSSH", tcp(9000), tcp(8000), tcp(7000))
	closeSSH.Timeout = 5 * time.Second
	closeSSH.Flags = knock.FlagMatch{Set: knock.SYN}
	closeSSH.Start = shell("/sbin/iptables -D INPUT -s %IP% -p tcp --dport 22 -j ACCEPT")
	https := door("openHTTPS", tcp(12345), tcp(54321), tcp(24680), tcp(13579))
	https.Timeout = 5 * time.Second
	https.Flags = knock.FlagMatch{Set: knock.SYN}
	https.Start = shell("/usr/local/sbin/knock_add -i -c INPUT -p tcp -d 443 -f %IP%")
	want.Doors = []knock.Door{open, closeSSH, https}
	if d := configDiff(t, want, c); d != "" {
		t.Errorf("Debian's knockd.conf (-want +got):\n%s", d)
	}
	if c.Source != FormatKnockd {
		t.Errorf("Source = %v, want knockd.conf", c.Source)
	}
	checkRoundTrip(t, c)
}

// The example knockd.conf in configs/ loads, and its one-time door is
// disabled (its file does not exist here) rather than failing the config.
func TestShippedKnockdConf(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", "configs", "knockd.conf"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var names []string
	for _, d := range c.Doors {
		names = append(names, d.Name)
	}
	if got, want := strings.Join(names, ","), "openSSH,openWeb"; got != want {
		t.Errorf("enabled doors = %s, want %s", got, want)
	}
	if len(c.Disabled) != 1 || c.Disabled[0].Door.Name != "openSMTP" || c.Disabled[0].Index != 1 {
		t.Fatalf("Disabled = %+v, want openSMTP at index 1", c.Disabled)
	}
	if !strings.Contains(c.Disabled[0].Reason, "/etc/knockd/smtp_sequences") {
		t.Errorf("disabled reason %q does not name the file", c.Disabled[0].Reason)
	}
	if c.Interfaces != nil || !c.Log.Syslog || c.Log.File != "/var/log/knockd.log" || c.PidFile != "/run/knockd.pid" {
		t.Errorf("options not applied: interfaces %v, log %+v, pid file %q", c.Interfaces, c.Log, c.PidFile)
	}
	ssh := c.Doors[0]
	if ssh.Stop6.Argv[0] != "/usr/sbin/ip6tables -D INPUT -s %IP% -p tcp --dport 22 -j ACCEPT" || ssh.StopDelay != 30*time.Second {
		t.Errorf("openSSH = %+v", ssh)
	}
	checkRoundTrip(t, c)
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.toml")
	_, err := Load(path)
	if err == nil || !strings.HasPrefix(err.Error(), "config: open "+path) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want a wrapped not-exist error naming the file", err)
	}
}
