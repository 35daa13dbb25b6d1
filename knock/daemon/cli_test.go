package daemon

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/knockbeep/knockbeep/knock/config"
)

// parseArgsTests are TestParseArgs's table, and FuzzParseArgs's seeds.
var parseArgsTests = []struct {
	name    string
	args    []string
	want    commandLine
	wantErr string
}{
	{name: "none", args: nil, want: commandLine{}},
	{name: "knockd's flags", args: []string{"-i", "eth0", "-c", "/etc/knockd.conf", "-D", "-v", "-p", "/run/k.pid", "-g", "/var/log/k.log", "-4", "-l"},
		want: commandLine{interfaces: []string{"eth0"}, configPath: "/etc/knockd.conf", debug: true, verbose: true,
			pidFile: "/run/k.pid", logFile: "/var/log/k.log", onlyIPv4: true, lookup: true}},
	{name: "knockd's long flags", args: []string{"--interface=eth0", "--config", "k.conf", "--debug", "--verbose", "--pidfile=p", "--logfile", "l", "--only-ip-v4", "--lookup"},
		want: commandLine{interfaces: []string{"eth0"}, configPath: "k.conf", debug: true, verbose: true,
			pidFile: "p", logFile: "l", onlyIPv4: true, lookup: true}},
	{name: "grouped short flags and attached values", args: []string{"-Dv4", "-ieth0", "-ieth1", "-cfile"},
		want: commandLine{debug: true, verbose: true, onlyIPv4: true, interfaces: []string{"eth0", "eth1"}, configPath: "file"}},
	{name: "knockbeepd's flags", args: []string{"--speaker", "wav:out", "--state-dir=st", "--check"},
		want: commandLine{speaker: "wav:out", stateDir: "st", check: true}},
	{name: "demo with a song", args: []string{"--demo", "fur-elise"}, want: commandLine{demo: true, demoSong: "fur-elise"}},
	{name: "demo with a song as a value", args: []string{"--demo=fur-elise", "-v"}, want: commandLine{demo: true, demoSong: "fur-elise", verbose: true}},
	{name: "demo alone", args: []string{"--demo"}, want: commandLine{demo: true}},
	{name: "demo with notes", args: []string{"--demo", "--notes", "ode-to-joy"}, want: commandLine{demo: true, demoNotes: true, demoSong: "ode-to-joy"}},
	{name: "notes without demo", args: []string{"--notes"}, wantErr: "--notes goes with --demo"},
	{name: "replay", args: []string{"--replay", "k.pcap", "-c", "k.toml"}, want: commandLine{replay: "k.pcap", configPath: "k.toml"}},
	{name: "convert", args: []string{"--convert", "/etc/knockd.conf"}, want: commandLine{convert: "/etc/knockd.conf"}},
	{name: "version and help", args: []string{"-V", "-h"}, want: commandLine{version: true, help: true}},
	{name: "show-sequence for a knocker", args: []string{"-c", "k.toml", "--show-sequence", "ssh", "--for", "::ffff:203.0.113.5"},
		want: commandLine{configPath: "k.toml", showSeq: "ssh", showFor: netip.MustParseAddr("203.0.113.5")}},
	{name: "--for without --show-sequence", args: []string{"--for", "203.0.113.5"}, wantErr: "--for goes with --show-sequence"},
	{name: "--for a name", args: []string{"--show-sequence", "ssh", "--for", "laptop"}, wantErr: `--for "laptop": give the knocker's IP address`},
	{name: "-- ends the options", args: []string{"--demo", "--", "-odd-name.rtttl"}, want: commandLine{demo: true, demoSong: "-odd-name.rtttl"}},

	{name: "-d is refused, pointing to the service files", args: []string{"-d"}, wantErr: "configs/knockbeepd.service"},
	{name: "--daemon too", args: []string{"-c", "x", "--daemon"}, wantErr: "configs/rc.d/knockbeepd"},
	{name: "unknown short flag", args: []string{"-x"}, wantErr: "unknown option -x"},
	{name: "unknown long flag", args: []string{"--speakers", "none"}, wantErr: "unknown option --speakers"},
	{name: "missing value", args: []string{"-c"}, wantErr: "option -c needs a value"},
	{name: "missing long value", args: []string{"--state-dir"}, wantErr: "option --state-dir needs a value"},
	{name: "value on a switch", args: []string{"--check=yes"}, wantErr: "option --check takes no value"},
	{name: "an operand", args: []string{"eth0"}, wantErr: `unexpected argument "eth0"`},
	{name: "two songs", args: []string{"--demo", "a", "b"}, wantErr: "--demo takes one song at most"},
	{name: "two modes", args: []string{"--check", "--replay", "x.pcap"}, wantErr: "exclude each other"},
	{name: "genkey", args: []string{"--genkey", "ssh.key"}, want: commandLine{genkeyMode: true, genkey: "ssh.key"}},
	{name: "genkey as a value", args: []string{"--genkey=ssh.key"}, want: commandLine{genkeyMode: true, genkey: "ssh.key"}},
	{name: "genkey ed25519", args: []string{"--genkey", "--ed25519", "node.key"}, want: commandLine{genkeyMode: true, ed25519: true, genkey: "node.key"}},
	{name: "genkey without a file", args: []string{"--genkey", "--ed25519"}, wantErr: "--genkey needs the file"},
	{name: "genkey with two files", args: []string{"--genkey", "a", "b"}, wantErr: "--genkey writes one key file"},
	{name: "ed25519 without genkey", args: []string{"--ed25519"}, wantErr: "--ed25519 goes with --genkey"},
	{name: "audit-verify", args: []string{"-c", "k.toml", "--audit-verify"}, want: commandLine{configPath: "k.toml", auditCheck: true}},
	{name: "audit-verify without a config", args: []string{"--audit-verify"}, wantErr: "--audit-verify needs -c FILE"},
	{name: "audit-verify and check", args: []string{"-c", "k", "--audit-verify", "--check"}, wantErr: "exclude each other"},
	{name: "demo with a config", args: []string{"--demo", "-c", "x.toml"}, wantErr: "--demo runs on loopback with the built-in config"},
}

func TestParseArgs(t *testing.T) {
	for _, tt := range parseArgsTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseArgs(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseArgs(%q) error = %v, want one containing %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseArgs(%q): %v", tt.args, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseArgs(%q) (-want +got):\n-%+v\n+%+v", tt.args, tt.want, got)
			}
		})
	}
}

func FuzzParseArgs(f *testing.F) {
	for _, tt := range parseArgsTests {
		f.Add(strings.Join(tt.args, "\x00"))
	}
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		c, err := parseArgs(args)
		if err != nil {
			if err.Error() == "" {
				t.Errorf("%q: an error that says nothing", args)
			}
			return
		}
		// Whatever parses applies to a config without changing what it
		// does not set.
		def := config.Default()
		cfg := config.Default()
		c.override()(cfg)
		for _, kept := range []struct {
			flag      string
			given     bool
			got, want any
		}{
			{"--speaker", c.speaker != "", cfg.Speaker, def.Speaker},
			{"--state-dir", c.stateDir != "", cfg.StateDir, def.StateDir},
			{"-p", c.pidFile != "", cfg.PidFile, def.PidFile},
			{"-i", len(c.interfaces) > 0, cfg.Interfaces, def.Interfaces},
			{"-g", c.logFile != "", cfg.Log.File, def.Log.File},
		} {
			if !kept.given && !reflect.DeepEqual(kept.got, kept.want) {
				t.Errorf("%q: without %s the config has %v, want the default %v", args, kept.flag, kept.got, kept.want)
			}
		}
	})
}

// The command line wins over the file, at start and on every reload.
func TestOverride(t *testing.T) {
	dir := t.TempDir()
	_, path := testConfig(t, dir, `
speaker = "none"
state_dir = "{{DIR}}/from-file"
interfaces = ["eth9"]
[log]
level = "warn"
`)
	c, err := parseArgs([]string{"-i", "any", "--speaker", "wav:x", "--state-dir", "cli", "-v", "-p", "k.pid"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path, c.override())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Interfaces != nil || cfg.Speaker != "wav:x" || cfg.StateDir != "cli" || cfg.PidFile != "k.pid" || cfg.Log.Level != slog.LevelInfo || !cfg.Log.Stderr {
		t.Errorf("got interfaces %q, speaker %q, state dir %q, pidfile %q, level %v, stderr %v; want the command line's (any, wav:x, cli, k.pid, INFO, true)",
			cfg.Interfaces, cfg.Speaker, cfg.StateDir, cfg.PidFile, cfg.Log.Level, cfg.Log.Stderr)
	}
}

// knockd's -g with a knockd.conf: the log file in knockd's format,
// instead of the terminal.
func TestOverrideKnockdLogFile(t *testing.T) {
	dir := t.TempDir()
	_, path := testConfig(t, dir, "[ssh]\n\tSequence = 7000\n")
	c, err := parseArgs([]string{"-g", "k.log"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path, c.override())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Log.File != "k.log" || cfg.Log.Format != config.LogKnockd || cfg.Log.Stderr {
		t.Errorf("log %+v, want file k.log in knockd's format, not on stderr", cfg.Log)
	}
}

func TestMainModes(t *testing.T) {
	dir := t.TempDir()
	knockdConf := filepath.Join(dir, "knockd.conf")
	writeFile(t, knockdConf, "# open ssh\n[openSSH]\n\tsequence = 7000,8000,9000\n\tseq_timeout = 5\n\tcommand = /sbin/iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT\n\ttcpflags = syn\n")
	badConf := filepath.Join(dir, "bad.toml")
	writeFile(t, badConf, "speaker = \"none\"\n[music]\ntone_prot = 1000\n")
	warnConf := filepath.Join(dir, "warn.toml")
	writeFile(t, warnConf, "[[door]]\nname = \"ssh\"\nsequence = \"7000\"\nstart_command = [\"/no/such/program\"]\n[[door]]\nname = \"idle\"\nsequence = \"7100\"\n")
	run := t.TempDir()
	heldPid := filepath.Join(run, "held.pid")
	holder := exec.Command("sleep", "60") // another live process
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
	writeFile(t, heldPid, strconv.Itoa(holder.Process.Pid)+"\n")
	tests := []struct {
		name       string
		args       []string
		wantStatus int
		wantOut    []string
		wantErr    []string
	}{
		{name: "help", args: []string{"-h"}, wantOut: []string{"usage: knockbeepd", "Examples:", "--demo", "configs/"}},
		{name: "version", args: []string{"--version"}, wantOut: []string{"knockbeepd (knockbeep) "}},
		{name: "daemonise", args: []string{"-d"}, wantStatus: ExitUsage, wantErr: []string{"not supported", "configs/knockbeepd.service", "daemon(8)"}},
		{name: "bad flag", args: []string{"--frobnicate"}, wantStatus: ExitUsage, wantErr: []string{"unknown option --frobnicate", "knockbeepd --help"}},
		{name: "demo of a song that is not there", args: []string{"--demo", "nosuchsong"}, wantStatus: ExitUsage, wantErr: []string{`nor is "nosuchsong" an embedded song`}},
		{name: "check the defaults", args: []string{"--check"},
			wantOut: []string{"built-in defaults: valid", "[music]", "tone_port = 1000", "# The kernel filter on any passes:", "#   tcp to port 1000-1003,2000-2127,32768-65535, flags syn,!ack"}},
		{name: "check a knockd.conf", args: []string{"--check", "-c", knockdConf, "-i", "eth0"},
			wantOut: []string{"(knockd.conf): valid", `interfaces = ["eth0"]`, `name = "openSSH"`, "#   tcp to port 7000,8000,9000, flags syn"}},
		{name: "check: the summary first, warnings, no BPF listing without -v", args: []string{"--check", "-c", warnConf},
			wantOut: []string{"valid.\n# 2 doors (ssh, idle), 0 disabled; music doors off; capturing on any; 2 warnings\n",
				`# warning: door "ssh": command "/no/such/program": `, `# warning: door "idle" has no action`, "#   tcp to port 7000,7100"}},
		{name: "check -v lists the BPF program", args: []string{"--check", "-v"}, wantOut: []string{"BPF program for raw IP frames"}},
		{name: "check --strict fails on warnings", args: []string{"--check", "--strict", "-c", warnConf}, wantStatus: ExitConfig,
			wantOut: []string{"2 warnings"}, wantErr: []string{"--check --strict: 2 warnings"}},
		{name: "check --strict passes a clean config", args: []string{"--check", "--strict"}, wantOut: []string{"0 warnings"}},
		{name: "strict without check", args: []string{"--strict"}, wantStatus: ExitUsage, wantErr: []string{"--strict goes with --check"}},
		{name: "check a bad config", args: []string{"--check", "-c", badConf}, wantStatus: ExitConfig,
			wantErr: []string{`line 3`, `unknown key "tone_prot"`, `did you mean "tone_port"?`}},
		{name: "convert", args: []string{"--convert", knockdConf}, wantOut: []string{"# open ssh", "[[door]]", `name = "openSSH"`, "shell = true"}},
		{name: "convert a missing file", args: []string{"--convert", filepath.Join(dir, "nope")}, wantStatus: ExitConfig, wantErr: []string{"no such file"}},
		{name: "missing config", args: []string{"-c", filepath.Join(dir, "nope.toml")}, wantStatus: ExitConfig, wantErr: []string{"no such file"}},
		{name: "pidfile held by a live process", args: []string{"-p", heldPid, "--speaker", "none", "--state-dir", run, "-i", "lo"},
			wantStatus: ExitFailure, wantErr: []string{heldPid, "is running"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := Main(context.Background(), tt.args, &stdout, &stderr, nil)
			if status != tt.wantStatus {
				t.Errorf("status %d, want %d\nstderr: %s", status, tt.wantStatus, stderr.String())
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}

// --check prints a config file: its output, filter comments and all,
// parses back to the same config.
func TestCheckOutputIsAConfig(t *testing.T) {
	dir := t.TempDir()
	_, path := testConfig(t, dir, `
speaker = "wav:songs"
[[door]]
name = "ssh"
sequence = ["7000", "8000:udp"]
tcpflags = "syn,!ack"
start_command = ["nft", "add", "element", "inet", "f", "k", "{ %IP% }"]
`)
	var stdout, stderr bytes.Buffer
	if status := Main(context.Background(), []string{"--check", "-c", path}, &stdout, &stderr, nil); status != ExitOK {
		t.Fatalf("status %d: %s", status, stderr.String())
	}
	back, err := config.Parse("check output", stdout.Bytes())
	if err != nil {
		t.Fatalf("the output does not parse as a config: %v\n%s", err, stdout.String())
	}
	want, _ := LoadConfig(path, nil)
	back.Source = want.Source
	if !reflect.DeepEqual(back, want) {
		t.Errorf("the output parses to (-want +got):\n-%+v\n+%+v", want, back)
	}
}

// --replay runs a capture file through the whole daemon from the command
// line and exits.
func TestMainReplay(t *testing.T) {
	dir := t.TempDir()
	_, path := testConfig(t, dir, `
speaker = "none"
state_dir = "{{DIR}}/state"
[music]
enabled = false
[[door]]
name = "d"
sequence = ["7000", "8000"]
start_command = ["/bin/sh", "-c", "echo %IP% %DOOR% > {{DIR}}/out"]
`)
	pcap := filepath.Join(dir, "k.pcap")
	if err := os.WriteFile(pcap, pcapFile(t, syn(0, "192.0.2.10", hostAddr4, 7000), syn(1, "192.0.2.10", hostAddr4, 8000)), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	args := []string{"-c", path, "--replay", pcap, "--state-dir", filepath.Join(dir, "state")}
	if status := Main(context.Background(), args, &stdout, &stderr, nil); status != ExitOK {
		t.Fatalf("status %d: %s", status, stderr.String())
	}
	if got := readAll(t, filepath.Join(dir, "out")); got != "192.0.2.10 d\n" {
		t.Errorf("the door's command wrote %q, want %q\nlog:\n%s", got, "192.0.2.10 d\n", stderr.String())
	}
}

// --replay keeps out of the live state directory: without --state-dir its
// pools and songs go to a new directory, which it names; with it, there.
func TestMainReplayStateDir(t *testing.T) {
	tests := []struct {
		name     string
		stateDir bool // give --state-dir
	}{
		{name: "a new directory"},
		{name: "--state-dir", stateDir: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("TMPDIR", filepath.Join(dir, "tmp"))
			if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o755); err != nil {
				t.Fatal(err)
			}
			_, path := testConfig(t, dir, `
speaker = "none"
state_dir = "{{DIR}}/live"
`)
			pcap := filepath.Join(dir, "k.pcap")
			if err := os.WriteFile(pcap, pcapFile(t, syn(0, "192.0.2.10", hostAddr4, 1000), syn(1, "192.0.2.10", hostAddr4, 1002)), 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"-c", path, "--replay", pcap}
			if tt.stateDir {
				args = append(args, "--state-dir", filepath.Join(dir, "forensics"))
			}
			var stdout, stderr bytes.Buffer
			if status := Main(context.Background(), args, &stdout, &stderr, nil); status != ExitOK {
				t.Fatalf("status %d: %s", status, stderr.String())
			}
			printed := regexp.MustCompile(`knockbeepd: --replay: pools and played songs go to (\S+) `).FindStringSubmatch(stderr.String())
			want := filepath.Join(dir, "forensics")
			switch {
			case tt.stateDir && printed != nil:
				t.Errorf("with --state-dir the replay still announced a directory: %q", printed[0])
			case !tt.stateDir && printed == nil:
				t.Fatalf("the replay did not say where its state went:\n%s", stderr.String())
			case !tt.stateDir:
				want = printed[1]
				if filepath.Dir(want) != filepath.Join(dir, "tmp") {
					t.Errorf("state directory %s is not a new directory under TMPDIR", want)
				}
			}
			if got := playedSongs(t, want); len(got) != 1 {
				t.Errorf("%d songs under %s/played, want the one replayed", len(got), want)
			}
			if fileExists(filepath.Join(dir, "live")) {
				t.Errorf("the replay wrote into the config's state_dir, the live daemon's")
			}
		})
	}
}

// TestCheckListsBPFOnlyWhenAsked: --check shows the filter's ports; the
// program's instructions only with -v.
func TestCheckListsBPFOnlyWhenAsked(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		args := []string{"--check"}
		if verbose {
			args = append(args, "-v")
		}
		var stdout, stderr bytes.Buffer
		if status := Main(context.Background(), args, &stdout, &stderr, nil); status != ExitOK {
			t.Fatalf("%v: status %d: %s", args, status, stderr.String())
		}
		if got := strings.Contains(stdout.String(), "BPF program"); got != verbose {
			t.Errorf("%v: lists the BPF program = %v, want %v", args, got, verbose)
		}
	}
}

// TestMainReplayRemovesAnEmptyStateDir: a replay that played no song leaves
// no temporary directory behind; one that did keeps it and says where.
func TestMainReplayRemovesAnEmptyStateDir(t *testing.T) {
	for _, song := range []bool{false, true} {
		dir := t.TempDir()
		tmp := filepath.Join(dir, "tmp")
		t.Setenv("TMPDIR", tmp)
		if err := os.Mkdir(tmp, 0o755); err != nil {
			t.Fatal(err)
		}
		_, path := testConfig(t, dir, "speaker = \"none\"\nstate_dir = \"{{DIR}}/live\"\n")
		pkts := []packet{syn(0, "192.0.2.10", hostAddr4, 1000)}
		if song {
			pkts = append(pkts, syn(1, "192.0.2.10", hostAddr4, 1002))
		}
		pcap := filepath.Join(dir, "k.pcap")
		if err := os.WriteFile(pcap, pcapFile(t, pkts...), 0o644); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		if status := Main(context.Background(), []string{"-c", path, "--replay", pcap}, &stdout, &stderr, nil); status != ExitOK {
			t.Fatalf("status %d: %s", status, stderr.String())
		}
		left, _ := os.ReadDir(tmp)
		if song != (len(left) == 1) {
			t.Errorf("song played %v: %d directories left in TMPDIR, stderr:\n%s", song, len(left), stderr.String())
		}
		if song && !strings.Contains(stderr.String(), "the songs played are in") {
			t.Errorf("the kept directory was not named:\n%s", stderr.String())
		}
	}
}
