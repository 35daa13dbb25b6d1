package client

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/clock/clocktest"
	daemonconfig "github.com/knockbeep/knockbeep/knock/config"
	"github.com/knockbeep/knockbeep/sequence"
	"github.com/knockbeep/knockbeep/songs"
)

// songsDir holds the song files that package songs embeds.
const songsDir = "../../songs"

const imperialMarch = songsDir + "/imperial-march.beep"

// fakeClock advances only when slept on, and records every sleep. cancelAt,
// when set, cancels the run's context at that sleep, as a Ctrl-C would.
type fakeClock struct {
	*clocktest.Fake
	sleeps   []time.Duration
	cancelAt int
	cancel   context.CancelFunc
}

func newFakeClock(cancelAt int, cancel context.CancelFunc) *fakeClock {
	c := &fakeClock{Fake: clocktest.NewFake(time.Unix(1_000_000, 0)), cancelAt: cancelAt, cancel: cancel}
	c.OnSleep = func(until time.Time) {
		c.sleeps = append(c.sleeps, until.Sub(c.Now()))
		if c.cancel != nil && len(c.sleeps) == c.cancelAt {
			c.cancel()
		}
	}
	return c
}

type result struct {
	status         int
	stdout, stderr string
	clock          *fakeClock
}

// runKnock runs the knock command as Run does, with a fake clock.
func runKnock(t *testing.T, terminal bool, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	clock := newFakeClock(0, nil)
	status := run(context.Background(), args, environment{stdout: &stdout, stderr: &stderr, clock: clock, terminal: terminal})
	return result{status: status, stdout: stdout.String(), stderr: stderr.String(), clock: clock}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// usageTests are command lines that must be refused before anything is
// sent: exit status 2, a message naming the problem on stderr, nothing on
// stdout.
var usageTests = []struct {
	name    string
	args    []string
	wantErr string
}{
	{name: "no arguments", args: nil, wantErr: "give a HOST and at least one PORT"},
	{name: "--wait with --dry-run", args: []string{"--secret-file", "k", "--door", "ssh", "--wait", "--dry-run", "h"}, wantErr: "--wait waits for the answer to knocks that --dry-run does not send"},
	{name: "--wait to a message door", args: []string{"--secret-file", "k", "--door", "notify", "--message", "hi", "--wait", "h"}, wantErr: "a message door does not answer"},
	{name: "--wait-timeout out of range", args: []string{"--secret-file", "k", "--door", "ssh", "--wait-timeout", "2h", "h"}, wantErr: "want a duration up to an hour"},
	{name: "--wait without a key", args: []string{"--wait", "h", "7000"}, wantErr: "--wait only applies with --secret-file FILE"},
	{name: "host without ports", args: []string{"127.0.0.1"}, wantErr: "give a HOST and at least one PORT"},
	{name: "empty host", args: []string{"", "22"}, wantErr: "HOST is empty"},
	{name: "empty host with --song", args: []string{"--song", "0", ""}, wantErr: "HOST is empty"},
	{name: "unknown short option", args: []string{"-x", "h", "1"}, wantErr: "unknown option -x"},
	{name: "unknown short option in a cluster", args: []string{"-vq", "h", "1"}, wantErr: "unknown option -q"},
	{name: "unknown long option", args: []string{"--udpp", "h", "1"}, wantErr: "unknown option --udpp"},
	{name: "long switch with a value", args: []string{"--udp=yes", "h", "1"}, wantErr: "option --udp takes no value"},
	{name: "delay without a value", args: []string{"h", "1", "-d"}, wantErr: "option -d needs a value T"},
	{name: "long delay without a value", args: []string{"h", "1", "--delay"}, wantErr: "option --delay needs a value T"},
	{name: "negative delay", args: []string{"-d", "-5", "h", "1"}, wantErr: `-d "-5": cannot be negative`},
	{name: "delay that is not a time", args: []string{"--delay=soon", "h", "1"}, wantErr: `--delay "soon": want milliseconds`},
	{name: "delay in hex", args: []string{"-d0x10", "h", "1"}, wantErr: `-d "0x10": want milliseconds`},
	{name: "delay NaN", args: []string{"-d", "NaN", "h", "1"}, wantErr: `-d "NaN": want milliseconds`},
	{name: "delay over an hour", args: []string{"-d", "3600001", "h", "1"}, wantErr: "longer than 1h0m0s"},
	{name: "negative duration", args: []string{"-d", "-1ms", "h", "1"}, wantErr: "cannot be negative"},
	{name: "-4 and -6", args: []string{"-4", "-6", "h", "1"}, wantErr: "-4 and -6 exclude each other"},
	{name: "port zero", args: []string{"h", "0"}, wantErr: `port "0": 0 is outside 1-65535`},
	{name: "port too big", args: []string{"h", "22", "65536"}, wantErr: `port "65536": 65536 is outside 1-65535`},
	{name: "unknown protocol", args: []string{"h", "7000:icmp"}, wantErr: `port "7000:icmp": unknown protocol "icmp" (want tcp or udp)`},
	{name: "unknown service", args: []string{"h", "no-such-service-here"}, wantErr: `unknown tcp service "no-such-service-here"`},
	{name: "song option without --song", args: []string{"--ports", "1,2,3", "h", "1"}, wantErr: "--ports only applies with --song SONG"},
	{name: "dry run without --song", args: []string{"--dry-run", "h", "1"}, wantErr: "--dry-run only applies with --song SONG or --secret-file FILE"},
	{name: "notes without --song", args: []string{"--notes", "h", "1"}, wantErr: "--notes only applies with --song SONG"},
	{name: "orchestra without --song", args: []string{"--orchestra", "h", "1"}, wantErr: "--orchestra only applies with --song SONG"},
	{name: "ensemble port without --orchestra", args: []string{"--song", "x", "--ensemble-port", "1003", "h"}, wantErr: "--ensemble-port only applies with --orchestra"},
	{name: "ensemble port 0", args: []string{"--song", "x", "--orchestra", "--ensemble-port", "0", "h"}, wantErr: "a port number 1-65535"},
	{name: "orchestra with no host", args: []string{"--song", "x", "--orchestra"}, wantErr: "give one HOST per voice"},
	{name: "orchestra with an empty host", args: []string{"--song", "x", "--orchestra", "a", ""}, wantErr: "a HOST is empty"},
	{name: "orchestra with more hosts than a song has voices", args: append([]string{"--song", "x", "--orchestra"}, strings.Split(strings.Repeat("h ", 17), " ")[:17]...), wantErr: "17 hosts, but a song has at most 16 voices"},
	{name: "song repeated without --orchestra", args: []string{"--song", "a.mml", "--song", "b.mml", "h"}, wantErr: `--song "b.mml": --song repeats only with --orchestra`},
	{name: "song repeated under a secret", args: []string{"--secret-file", "k", "--song", "a.mml", "--song", "b.mml", "h"}, wantErr: "--song repeats only with --orchestra"},
	{name: "song repeated with a dry run", args: []string{"--song", "a.mml", "--song", "b.mml", "--dry-run"}, wantErr: "--song repeats only with --orchestra"},
	{name: "a second song empty", args: []string{"--song", "a.mml", "--song=", "--orchestra", "a", "b"}, wantErr: `--song "": empty song name`},
	{name: "one song per voice, too few hosts", args: []string{"--song", "a.mml", "--song", "b.mml", "--song", "c.mml", "--orchestra", "a", "b"}, wantErr: "--orchestra: 3 --song options, one voice each: give 3 hosts in their order, not 2"},
	{name: "one song per voice, too many hosts", args: []string{"--song", "a.mml", "--song", "b.mml", "--orchestra", "a", "b", "c"}, wantErr: "--orchestra: 2 --song options, one voice each: give 2 hosts in their order, not 3"},
	{name: "one song per voice, no host", args: []string{"--song", "a.mml", "--song", "b.mml", "--orchestra", "--dry-run"}, wantErr: "--orchestra: give one HOST per voice"},
	{name: "more songs than a song has voices", args: append(strings.Split(strings.Repeat("--song x ", 17), " ")[:34], "--orchestra", "h"), wantErr: "17 --song options, but a song has at most 16 voices"},
	{name: "songs per voice under a secret", args: []string{"--song", "a.mml", "--song", "b.mml", "--orchestra", "--secret-file", "k", "a", "b"}, wantErr: "--orchestra needs the daemons' static music ports"},
	{name: "orchestra under a secret", args: []string{"--song", "x", "--orchestra", "--secret-file", "k", "a", "b"}, wantErr: "--orchestra needs the daemons' static music ports"},
	{name: "notes and no pitch", args: []string{"--song", "x.beep", "--notes", "--no-pitch", "h"}, wantErr: "--notes and --no-pitch exclude each other"},
	{name: "notes without note ports", args: []string{"--song", "x.beep", "--notes", "--note-base", "0", "h"}, wantErr: "--notes needs the daemon's note ports"},
	{name: "note ports past 65535", args: []string{"--song", "x.beep", "--notes", "--note-base", "40000", "h"}, wantErr: "note ports 40000-72767 run past 65535"},
	{name: "note unit zero", args: []string{"--song", "x.beep", "--notes", "--note-unit", "0", "h"}, wantErr: "want the daemon's note_unit"},
	{name: "song with ports", args: []string{"--song", "x.beep", "h", "1000"}, wantErr: `with --song give only HOST: the song decides the ports (extra "1000")`},
	{name: "song without host", args: []string{"--song", "x.beep"}, wantErr: "give the HOST to knock the song into"},
	{name: "empty song name", args: []string{"--song=", "h"}, wantErr: "--song \"\": empty song name"},
	{name: "two ports", args: []string{"--song", "x.beep", "--ports", "1000,1001", "h"}, wantErr: "want three ports TONE,SILENCE,PLAY"},
	{name: "port list with a word", args: []string{"--song", "x.beep", "--ports", "1000,x,1002", "h"}, wantErr: `"x" is not a port 1-65535`},
	{name: "port list with zero", args: []string{"--song", "x.beep", "--ports", "0,1001,1002", "h"}, wantErr: `"0" is not a port 1-65535`},
	{name: "one port twice", args: []string{"--song", "x.beep", "--ports", "1000,1000,1002", "h"}, wantErr: "tone and silence ports are both 1000"},
	{name: "port among the pitch ports", args: []string{"--song", "x.beep", "--ports", "2005,1001,1002", "h"}, wantErr: "tone port 2005 lies among the pitch ports"},
	{name: "pitch base too high", args: []string{"--song", "x.beep", "--pitch-base", "65500", "h"}, wantErr: "run past 65535"},
	{name: "pitch base not a number", args: []string{"--song", "x.beep", "--pitch-base", "high", "h"}, wantErr: `--pitch-base "high": want a port number`},
	{name: "zero step", args: []string{"--song", "x.beep", "--step", "0", "h"}, wantErr: `--step "0": want the daemon's step length`},
	{name: "step too long", args: []string{"--song", "x.beep", "--step", "6m", "h"}, wantErr: "step 6m0s out of range"},
	{name: "door without --secret-file", args: []string{"--door", "ssh", "h", "1"}, wantErr: "--door only applies with --secret-file FILE"},
	{name: "--secret-file without --door", args: []string{"--secret-file", "k", "h"}, wantErr: "--secret-file needs --door NAME"},
	{name: "a secret song with --door", args: []string{"--secret-file", "k", "--door", "d", "--song", "x", "h"}, wantErr: "goes to the music doors ([music] secret_file): leave out --door"},
	{name: "a secret song with --message", args: []string{"--secret-file", "k", "--message", "hi", "--song", "x", "h"}, wantErr: "--song and --message are two things to send"},
	{name: "a secret song with --wait", args: []string{"--secret-file", "k", "--wait", "--song", "x", "h"}, wantErr: "the music doors do not answer"},
	{name: "a secret song with -u", args: []string{"-u", "--secret-file", "k", "--song", "x", "h"}, wantErr: "-u does not apply under a secret"},
	{name: "a secret song with --length", args: []string{"--secret-file", "k", "--length", "6", "--song", "x", "h"}, wantErr: "--length is a rotating door's"},
	{name: "a secret song with --bind-source", args: []string{"--secret-file", "k", "--bind-source", "--song", "x", "h"}, wantErr: "leave out --bind-source"},
	{name: "a secret song without host", args: []string{"--secret-file", "k", "--song", "x"}, wantErr: "give the HOST to knock the song into"},
	{name: "--secret-file with -u", args: []string{"-u", "--secret-file", "k", "--door", "d", "h"}, wantErr: "-u does not apply to a rotating door"},
	{name: "--secret-file without host", args: []string{"--secret-file", "k", "--door", "d"}, wantErr: "give the HOST to knock on"},
	{name: "--secret-file with ports", args: []string{"--secret-file", "k", "--door", "d", "h", "22"}, wantErr: `the key decides the ports (extra "22")`},
	{name: "bad time offset", args: []string{"--secret-file", "k", "--door", "d", "--time-offset", "soon", "h"}, wantErr: `--time-offset "soon": want a duration within a day`},
	{name: "period not whole seconds", args: []string{"--secret-file", "k", "--door", "d", "--period", "1.5s", "h"}, wantErr: "want whole seconds"},
	{name: "bad port range", args: []string{"--secret-file", "k", "--door", "d", "--port-range", "9-1", "h"}, wantErr: "want the door's port_range"},
	{name: "bad protocols", args: []string{"--secret-file", "k", "--door", "d", "--protocols", "tcp,icmp", "h"}, wantErr: "want the door's protocols"},
}

func TestUsageErrors(t *testing.T) {
	for _, tt := range usageTests {
		t.Run(tt.name, func(t *testing.T) {
			got := runKnock(t, false, tt.args...)
			if got.status != ExitUsage {
				t.Errorf("exit status (-want +got):\n-%d\n+%d", ExitUsage, got.status)
			}
			if !strings.HasPrefix(got.stderr, "knock: ") || !strings.Contains(got.stderr, tt.wantErr) {
				t.Errorf("stderr (-want +got):\n-knock: ...%s...\n+%s", tt.wantErr, got.stderr)
			}
			if !strings.Contains(got.stderr, "Run 'knock --help' for usage.") {
				t.Errorf("stderr does not point to --help:\n%s", got.stderr)
			}
			if got.stdout != "" {
				t.Errorf("stdout (-want +got):\n-\n+%s", got.stdout)
			}
		})
	}
}

func FuzzParseArgs(f *testing.F) {
	for _, tt := range usageTests {
		f.Add(strings.Join(tt.args, "\x00"))
	}
	f.Add("-uvd100\x00host\x00ssh\x007000:udp")
	f.Add("--song\x00x.beep\x00--dry-run\x00--ports=1,2,3\x00--step\x0050ms")
	f.Add("--secret-file\x00k\x00--song\x00x\x00h")
	f.Add("--song\x00a.mml\x00--song=b.mml\x00--orchestra\x00--notes\x00h1\x00h2")
	f.Add("--secret-file\x00k\x00--door\x00ssh\x00--time-offset=-45s\x00--period\x002s\x00--protocols\x00tcp,udp\x00h")
	f.Add("--secret-file\x00k\x00--door\x00ssh\x00--source-address\x002001:db8::5\x00--bind-source\x00h")
	f.Add("--secret-file\x00k\x00--door\x00ssh\x00--wait\x00--wait-timeout=2s\x00h")
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		c, err := parseArgs(args)
		if err != nil {
			if _, ok := err.(*usageError); !ok {
				t.Fatalf("parseArgs(%q) error %v is not a usage error", args, err)
			}
			return
		}
		if c.help || c.version {
			return
		}
		if c.sourceAddr.IsValid() && (!c.bindSource || c.sourceAddr.Zone() != "" || c.sourceAddr.Is4In6() || c.sourceAddr.IsUnspecified()) {
			t.Fatalf("parseArgs(%q): source address %v accepted as it is (bind %v)", args, c.sourceAddr, c.bindSource)
		}
		if c.delay < 0 || c.delay > maxTimeOption {
			t.Fatalf("parseArgs(%q): delay %v outside 0-%v", args, c.delay, maxTimeOption)
		}
		if c.network != "" && c.network != "ip4" && c.network != "ip6" {
			t.Fatalf("parseArgs(%q): network %q", args, c.network)
		}
		if len(c.songs) > 1 && (!c.orchestra || len(c.hosts) != len(c.songs) || c.secretFile != "") {
			t.Fatalf("parseArgs(%q): %d songs accepted for hosts %q (orchestra %v)", args, len(c.songs), c.hosts, c.orchestra)
		}
		if slices.Contains(c.songs, "") {
			t.Fatalf("parseArgs(%q): an empty song accepted", args)
		}
		if c.secretFile != "" && len(c.songs) > 0 {
			// A song under the music doors' secret: checked as a song below.
			if c.door != "" || c.orchestra || len(c.knocks) > 0 {
				t.Fatalf("parseArgs(%q): secret song with door %q, orchestra %v, %d ports", args, c.door, c.orchestra, len(c.knocks))
			}
		} else if c.secretFile != "" {
			if c.door == "" || c.host == "" && !c.dryRun || len(c.knocks) > 0 || len(c.songs) > 0 {
				t.Fatalf("parseArgs(%q): rotating door with door %q, host %q, %d ports, songs %q", args, c.door, c.host, len(c.knocks), c.songs)
			}
			r := c.rotating
			if r.Period < time.Second || r.Length < 1 || r.PortLo == 0 || r.PortHi < r.PortLo || len(r.Protos) == 0 {
				t.Fatalf("parseArgs(%q): invalid door shape %+v", args, r)
			}
			return
		}
		if len(c.songs) == 0 {
			if c.host == "" {
				t.Fatalf("parseArgs(%q): no host accepted without an error", args)
			}
			if len(c.knocks) == 0 {
				t.Fatalf("parseArgs(%q): no knocks accepted without an error", args)
			}
			for _, k := range c.knocks {
				if k.target.Port == 0 {
					t.Fatalf("parseArgs(%q): port 0 accepted", args)
				}
			}
			return
		}
		if err := c.protocol.Validate(); err != nil {
			t.Fatalf("parseArgs(%q): invalid protocol accepted: %v", args, err)
		}
		if c.host == "" && !c.dryRun {
			t.Fatalf("parseArgs(%q): no host, and not a dry run", args)
		}
	})
}

func TestHelpAndVersion(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStdout string
	}{
		{name: "-h", args: []string{"-h"}, wantStdout: "usage: knock [options] HOST PORT[:PROTO] ..."},
		{name: "--help", args: []string{"--help"}, wantStdout: "usage: knock [options] HOST PORT[:PROTO] ..."},
		{name: "help wins over operands", args: []string{"host", "-h", "0"}, wantStdout: "usage: knock"},
		{name: "usage lists the exit statuses", args: []string{"-h"}, wantStdout: "130  interrupted"},
		{name: "usage explains the pacing", args: []string{"-h"}, wantStdout: "The default\n  5ms between the knocks of a song"},
		{name: "-V", args: []string{"-V"}, wantStdout: "knock (knockbeep) "},
		{name: "--version", args: []string{"--version"}, wantStdout: "knock (knockbeep) "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runKnock(t, false, tt.args...)
			if got.status != ExitOK || !strings.Contains(got.stdout, tt.wantStdout) || got.stderr != "" {
				t.Errorf("knock %s (-want +got):\n-status 0, stdout containing %q, no stderr\n+status %d, stdout %q, stderr %q",
					strings.Join(tt.args, " "), tt.wantStdout, got.status, got.stdout, got.stderr)
			}
		})
	}
}

func TestUsageMatchesTheDefaultPacing(t *testing.T) {
	// The usage text and the docs state the default; keep them honest.
	if DefaultSongDelay != 5*time.Millisecond {
		t.Fatalf("DefaultSongDelay is %v but the usage text says 5ms: update both", DefaultSongDelay)
	}
}

// udpReceivers opens n UDP sockets on addr (a loopback address) for knocks
// to land on, and returns them with their ports.
func udpReceivers(t *testing.T, addr string, n int) ([]*net.UDPConn, []string) {
	t.Helper()
	var conns []*net.UDPConn
	var ports []string
	for range n {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(addr)})
		if err != nil {
			t.Skipf("cannot listen on %s: %v", addr, err)
		}
		t.Cleanup(func() { conn.Close() })
		conns = append(conns, conn)
		ports = append(ports, strconv.Itoa(conn.LocalAddr().(*net.UDPAddr).Port))
	}
	return conns, ports
}

func received(conn *net.UDPConn) bool {
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, _, err := conn.ReadFromUDP(make([]byte, 8))
	return err == nil
}

func TestKnockdCommandLines(t *testing.T) {
	conns4, p4 := udpReceivers(t, "127.0.0.1", 3)
	conns6, p6 := udpReceivers(t, "::1", 1)
	tests := []struct {
		name       string
		args       []string
		conns      []*net.UDPConn
		wantStdout string
		wantSleeps []time.Duration
	}{
		{name: "-u and -v", args: []string{"-u", "-v", "127.0.0.1", p4[0], p4[1]}, conns: conns4[:2],
			wantStdout: fmt.Sprintf("hitting udp 127.0.0.1:%s\nhitting udp 127.0.0.1:%s\n", p4[0], p4[1])},
		{name: "clustered options with an attached delay", args: []string{"-uvd250", "127.0.0.1", p4[0], p4[1], p4[2]}, conns: conns4,
			wantStdout: fmt.Sprintf("hitting udp 127.0.0.1:%s\nhitting udp 127.0.0.1:%s\nhitting udp 127.0.0.1:%s\n", p4[0], p4[1], p4[2]),
			wantSleeps: []time.Duration{250 * time.Millisecond, 250 * time.Millisecond}},
		{name: "options after operands", args: []string{"127.0.0.1", p4[0] + ":udp", "--verbose", p4[1] + ":udp", "--delay", "1.5"}, conns: conns4[:2],
			wantStdout: fmt.Sprintf("hitting udp 127.0.0.1:%s\nhitting udp 127.0.0.1:%s\n", p4[0], p4[1]),
			wantSleeps: []time.Duration{1500 * time.Microsecond}},
		{name: "delay as a duration", args: []string{"-u", "--delay=2ms", "127.0.0.1", p4[0], p4[1]}, conns: conns4[:2],
			wantSleeps: []time.Duration{2 * time.Millisecond}},
		{name: "-- ends the options", args: []string{"-u", "--", "127.0.0.1", p4[2]}, conns: conns4[2:]},
		{name: "ipv6 literal printed as knockd does", args: []string{"-v", "::1", p6[0] + ":udp"}, conns: conns6,
			wantStdout: fmt.Sprintf("hitting udp ::1:%s\n", p6[0])},
		{name: "ipv6 literal in brackets", args: []string{"-u", "[::1]", p6[0]}, conns: conns6},
		{name: "-4 with an ipv4 literal", args: []string{"-4", "-u", "127.0.0.1", p4[0]}, conns: conns4[:1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runKnock(t, false, tt.args...)
			if got.status != ExitOK || got.stderr != "" {
				t.Fatalf("knock %s: status %d, stderr %q", strings.Join(tt.args, " "), got.status, got.stderr)
			}
			if got.stdout != tt.wantStdout {
				t.Errorf("stdout (-want +got):\n-%q\n+%q", tt.wantStdout, got.stdout)
			}
			if fmt.Sprint(got.clock.sleeps) != fmt.Sprint(tt.wantSleeps) {
				t.Errorf("pauses between knocks (-want +got):\n-%v\n+%v", tt.wantSleeps, got.clock.sleeps)
			}
			for i, conn := range tt.conns {
				if !received(conn) {
					t.Errorf("knock %d did not arrive at %v", i+1, conn.LocalAddr())
				}
			}
		})
	}
}

func TestResolveFailures(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "invalid name", args: []string{"bad..name", "22"}, wantErr: `cannot resolve host "bad..name"`},
		{name: "ipv6 literal with -4", args: []string{"-4", "::1", "22"}, wantErr: "host ::1 is not an IPv4 address"},
		{name: "ipv4 literal with -6", args: []string{"-6", "127.0.0.1", "22"}, wantErr: "host 127.0.0.1 is not an IPv6 address"},
		{name: "song to an invalid name", args: []string{"--song", imperialMarch, "bad..name"}, wantErr: `cannot resolve host "bad..name"`},
		{name: "a zone that is no interface here", args: []string{"fe80::1%nosuchif", "22"}, wantErr: `zone "nosuchif" is not a network interface here`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runKnock(t, false, tt.args...)
			if got.status != ExitHost || !strings.Contains(got.stderr, tt.wantErr) || got.stdout != "" {
				t.Errorf("knock %s (-want +got):\n-status %d, stderr containing %q\n+status %d, stderr %q, stdout %q",
					strings.Join(tt.args, " "), ExitHost, tt.wantErr, got.status, got.stderr, got.stdout)
			}
		})
	}
}

func TestSongErrors(t *testing.T) {
	tests := []struct {
		name    string
		song    func(t *testing.T) string
		wantErr string
	}{
		{name: "missing file", song: func(t *testing.T) string { return filepath.Join(t.TempDir(), "gone.beep") },
			wantErr: "no such file or directory"},
		{name: "a directory", song: func(t *testing.T) string { return t.TempDir() },
			wantErr: "is a directory"},
		{name: "binary file", song: func(t *testing.T) string { return writeFile(t, "noise.beep", "\x00\x01\x02") },
			wantErr: "is a binary file"},
		{name: "beep syntax error", song: func(t *testing.T) string { return writeFile(t, "bad.beep", "beep -f 440 -l\n") },
			wantErr: "bad.beep"},
		{name: "rtttl syntax error", song: func(t *testing.T) string { return writeFile(t, "bad.rtttl", "tune:d=4,o=5,b=100:8z\n") },
			wantErr: "rtttl song, line 1"},
		{name: "song with no tones", song: func(t *testing.T) string { return writeFile(t, "empty.mml", "# nothing\n") },
			wantErr: "the song has no notes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The host cannot be resolved: a song error must come first.
			got := runKnock(t, false, "--song", tt.song(t), "bad..name")
			if got.status != ExitSong || !strings.Contains(got.stderr, tt.wantErr) || got.stdout != "" {
				t.Errorf("(-want +got):\n-status %d, stderr containing %q\n+status %d, stderr %q, stdout %q",
					ExitSong, tt.wantErr, got.status, got.stderr, got.stdout)
			}
		})
	}
}

// TestOrchestra: --orchestra composes one voice per host, each without
// its play knock, then names the ensemble knock; a host count that is not
// the song's voice count stops knock before anything is sent.
func TestOrchestra(t *testing.T) {
	got := runKnock(t, false, "--song", "three-voice-round", "--orchestra", "--dry-run", "--ensemble-port", "1500", "a", "b", "c")
	if got.status != ExitOK || got.stderr != "" {
		t.Fatalf("status %d, stderr %q", got.status, got.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(got.stdout, "\n"), "\n")
	if len(lines) != 7 {
		t.Fatalf("printed %d lines, want 7 (three voices' runs and totals, the ensemble knock):\n%s", len(lines), got.stdout)
	}
	for i, host := range []string{"a", "b", "c"} {
		if want := fmt.Sprintf("voice %d into %s: ", i+1, host); !strings.HasPrefix(lines[2*i], want) || !strings.Contains(lines[2*i+1], " 0 play") {
			t.Errorf("lines %d-%d = %q, want %q... with no play knock", 2*i+1, 2*i+2, lines[2*i:2*i+2], want)
		}
	}
	if want := "then the ensemble knock: tcp a:1500"; lines[6] != want {
		t.Errorf("last line %q, want %q", lines[3], want)
	}
	for _, hosts := range [][]string{{"a", "b"}, {"a", "b", "c", "d"}} {
		args := append([]string{"--song", "three-voice-round", "--orchestra"}, hosts...)
		got := runKnock(t, false, args...)
		if got.status != ExitUsage || !strings.Contains(got.stderr, `"three-voice-round" has 3 voice(s)`) || got.stdout != "" {
			t.Errorf("knock %s: status %d, stderr %q, stdout %q; want a usage error naming the 3 voices", strings.Join(args, " "), got.status, got.stderr, got.stdout)
		}
	}
}

// splitVoices writes each voice of an embedded MML song of several voices
// to a file of its own, as a user who keeps one file per voice would.
func splitVoices(t *testing.T, name string) []string {
	t.Helper()
	data, _, err := songs.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	var text []string
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") { // comments have commas
			text = append(text, line)
		}
	}
	dir := t.TempDir()
	var files []string
	for i, voice := range strings.Split(strings.Join(text, "\n"), ",") {
		file := filepath.Join(dir, fmt.Sprintf("voice%d.mml", i+1))
		if err := os.WriteFile(file, []byte(voice), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, file)
	}
	return files
}

// TestOrchestraOneFilePerVoice: --song repeated with --orchestra sends
// file i's song to host i, the same knocks as voice i of the song that
// holds them all; a file of several voices among them, or one that
// cannot be read, stops knock before anything is sent, naming the file.
func TestOrchestraOneFilePerVoice(t *testing.T) {
	files := splitVoices(t, "three-voice-round")
	if len(files) != 3 {
		t.Fatalf("three-voice-round split into %d voices, want 3", len(files))
	}
	perFile := func(files ...string) []string {
		var args []string
		for _, f := range files {
			args = append(args, "--song", f)
		}
		return args
	}
	for _, opts := range [][]string{nil, {"--notes"}, {"--no-pitch", "-u", "--ensemble-port", "1500"}} {
		t.Run(strings.Join(append([]string{"options"}, opts...), " "), func(t *testing.T) {
			tail := append(append([]string{"--orchestra", "--dry-run"}, opts...), "a", "b", "c")
			want := runKnock(t, false, append([]string{"--song", "three-voice-round"}, tail...)...)
			got := runKnock(t, false, append(perFile(files...), tail...)...)
			if want.status != ExitOK || got.status != ExitOK || got.stdout != want.stdout {
				t.Fatalf("knock --song voice1.mml --song voice2.mml --song voice3.mml %s (-want +got):\n-status 0, stdout %q\n+status %d, stdout %q, stderr %q",
					strings.Join(tail, " "), want.stdout, got.status, got.stdout, got.stderr)
			}
			// In another order, host i still takes file i.
			got = runKnock(t, false, append(perFile(files[2], files[0], files[1]), tail...)...)
			wantLines := strings.Split(want.stdout, "\n")
			gotLines := strings.Split(got.stdout, "\n")
			if len(gotLines) != len(wantLines) {
				t.Fatalf("voices 3, 1, 2: printed %q, want the lines of %q", got.stdout, want.stdout)
			}
			for i, from := range []int{2, 0, 1} {
				host, wantVoice := "abc"[i:i+1], wantLines[2*from][strings.Index(wantLines[2*from], ":"):]
				if line := gotLines[2*i]; line != fmt.Sprintf("voice %d into %s%s", i+1, host, wantVoice) || gotLines[2*i+1] != wantLines[2*from+1] {
					t.Errorf("voices 3, 1, 2: host %s took %q, want voice %d's knocks", host, gotLines[2*i:2*i+2], from+1)
				}
			}
		})
	}

	round := writeFile(t, "round.mml", "C D E, E F G")
	missing := filepath.Join(t.TempDir(), "gone.mml")
	for _, tt := range []struct {
		name       string
		args       []string
		wantStatus int
		wantErr    string
	}{
		{name: "a file of several voices", args: perFile(files[0], round, files[1]), wantStatus: ExitUsage,
			wantErr: "--song " + round + `: "round" has 2 voices (MML voices are separated by commas), but one --song per host takes songs of one voice`},
		{name: "an embedded song of several voices", args: perFile("three-voice-round", files[0], files[1]), wantStatus: ExitUsage,
			wantErr: `--song three-voice-round: "three-voice-round" has 3 voices`},
		{name: "a file that is not there", args: perFile(files[0], files[1], missing), wantStatus: ExitSong, wantErr: missing},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := runKnock(t, false, append(tt.args, "--orchestra", "a", "b", "c")...)
			if got.status != tt.wantStatus || !strings.HasPrefix(got.stderr, "knock: ") || !strings.Contains(got.stderr, tt.wantErr) || got.stdout != "" {
				t.Errorf("(-want +got):\n-status %d, stderr knock: ...%s..., no stdout\n+status %d, stderr %q, stdout %q", tt.wantStatus, tt.wantErr, got.status, got.stderr, got.stdout)
			}
		})
	}
}

func TestDryRun(t *testing.T) {
	song, err := sequence.ReadSongFile(imperialMarch)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		args        []string
		wantCounts  string // the totals line of the plan's summary
		wantPorts   string
		wantPacing  string
		wantNoPitch bool
	}{
		{name: "imperial march with its tune", args: nil,
			wantPorts:  "ports: tone 1000, silence 1001, play 1002, pitch 2000+note; step 100ms",
			wantCounts: "171 tone, 82 silence, ", wantPacing: "knocking takes about 1.565s (5ms between knocks)"},
		{name: "the original monotone protocol", args: []string{"--no-pitch"},
			wantPorts:  "ports: tone 1000, silence 1001, play 1002, no pitch knocks; step 100ms",
			wantCounts: "254 knocks: 171 tone, 82 silence, 0 pitch, 1 play; 253 steps of 100ms = 25.3s", wantNoPitch: true},
		{name: "no pitch ports on the daemon", args: []string{"--pitch-base", "0"},
			wantCounts: "254 knocks: 171 tone, 82 silence, 0 pitch, 1 play", wantNoPitch: true},
		{name: "other ports, slower pace, host given but not resolved", args: []string{"--ports", "5000,5001,5002", "-d", "20", "bad..name"},
			wantPorts: "ports: tone 5000, silence 5001, play 5002, pitch 2000+note", wantPacing: "(20ms between knocks)"},
		{name: "longer steps", args: []string{"--no-pitch", "--step", "200ms"},
			wantCounts: "steps of 200ms", wantNoPitch: true},
		{name: "notes: a knock per note, at the written rhythm", args: []string{"--notes"},
			wantPorts:  "ports: notes 32768-65535 in units of 25ms, pitch 2000+note",
			wantCounts: "68 knocks: 66 note, 0 rest, 1 pitch, 1 play; notes in units of 25ms",
			wantPacing: "knocking takes about 335ms (5ms between knocks); written 21.55s, it plays for 21.55s"},
		{name: "notes on other ports, coarser unit", args: []string{"--notes", "--note-base", "3000", "--note-unit", "50ms"},
			wantPorts: "ports: notes 3000-35767 in units of 50ms", wantCounts: "notes in units of 50ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--song", imperialMarch, "--dry-run"}, tt.args...)
			got := runKnock(t, false, args...)
			if got.status != ExitOK || got.stderr != "" {
				t.Fatalf("knock %s: status %d, stderr %q", strings.Join(args, " "), got.status, got.stderr)
			}
			lines := strings.Split(strings.TrimSuffix(got.stdout, "\n"), "\n")
			if len(lines) != 6 {
				t.Fatalf("dry run printed %d lines, want 6 (song, ports, runs, totals, pacing, beep):\n%s", len(lines), got.stdout)
			}
			wantSong := fmt.Sprintf("song %q: beep format, %d tones, %v", song.Name, len(song.Tones), song.Duration())
			for _, check := range []struct{ what, line, want string }{
				{"song line", lines[0], wantSong},
				{"ports line", lines[1], tt.wantPorts},
				{"totals line", lines[3], tt.wantCounts},
				{"pacing line", lines[4], tt.wantPacing},
				{"beep line", lines[5], "beep -f "},
			} {
				if !strings.Contains(check.line, check.want) {
					t.Errorf("%s (-want +got):\n-%s\n+%s", check.what, check.want, check.line)
				}
			}
			if gotNoPitch := !strings.Contains(lines[2], "pitch"); gotNoPitch != tt.wantNoPitch {
				t.Errorf("runs line has no pitch knocks = %v, want %v:\n%s", gotNoPitch, tt.wantNoPitch, lines[2])
			}
			freqs := map[string]bool{}
			for _, m := range beepFreq.FindAllStringSubmatch(lines[5], -1) {
				freqs[m[1]] = true
			}
			if monotone := len(freqs) == 1 && freqs["440"]; monotone != tt.wantNoPitch {
				t.Errorf("beep line plays only the default 440 Hz = %v, want %v:\n%s", monotone, tt.wantNoPitch, lines[5])
			}
		})
	}
}

var beepFreq = regexp.MustCompile(`-f (\S+)`)

// A song of 41 knocks (the pitch knock for A4, 20 tones of one step, 19
// silences, play), on ports no daemon of the host listens to. It is played
// at the daemon's usual default frequency, 440 Hz, and still begins with
// its pitch knock, in case the daemon's default is another.
const fortyOneKnocks = "beep -f 440 -l 100 -d 100 -r 20\n"

var quietPorts = []string{"--ports", "41000,41001,41002", "--pitch-base", "42000"}

func TestSongProgressAndSummary(t *testing.T) {
	song := writeFile(t, "forty-one.beep", fortyOneKnocks)
	tests := []struct {
		name     string
		terminal bool
		args     []string
		wantBar  bool
		wantTime string
	}{
		{name: "terminal, 4s of knocking", terminal: true, args: []string{"-d", "100"}, wantBar: true, wantTime: "4s"},
		{name: "terminal, 2s of knocking", terminal: true, args: []string{"-d", "50"}, wantBar: true, wantTime: "2s"},
		{name: "terminal, 1.96s of knocking", terminal: true, args: []string{"-d", "49"}, wantBar: false, wantTime: "1.96s"},
		{name: "not a terminal", terminal: false, args: []string{"-d", "100"}, wantBar: false, wantTime: "4s"},
		{name: "terminal, verbose", terminal: true, args: []string{"-d", "100", "-v"}, wantBar: false, wantTime: "4s"},
		{name: "default pacing", terminal: true, args: nil, wantBar: false, wantTime: "200ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"--song", song, "127.0.0.1"}, quietPorts...), tt.args...)
			got := runKnock(t, tt.terminal, args...)
			if got.status != ExitOK {
				t.Fatalf("status %d, stderr %q", got.status, got.stderr)
			}
			wantSummary := fmt.Sprintf("knocked %q into 127.0.0.1: 41 knocks in %s; written 3.9s, it plays for 3.9s\n", "forty-one", tt.wantTime)
			if !strings.HasSuffix(got.stdout, wantSummary) {
				t.Errorf("summary (-want +got):\n-%q\n+%q", wantSummary, got.stdout)
			}
			if !tt.wantBar {
				if got.stderr != "" {
					t.Errorf("stderr (-want +got):\n-\n+%q", got.stderr)
				}
				return
			}
			frames := strings.Split(strings.TrimPrefix(got.stderr, "\r"), "\r")
			last := frames[len(frames)-1]
			if last != "\x1b[K" {
				t.Errorf("the bar is not erased at the end: last frame %q", last)
			}
			final := frames[len(frames)-2]
			wantFinal := "[" + strings.Repeat("#", progressWidth) + "]   41/41 knocks  " + tt.wantTime + ", about 0s left"
			if final != wantFinal {
				t.Errorf("final frame (-want +got):\n-%q\n+%q", wantFinal, final)
			}
			if len(frames) < 10 {
				t.Errorf("the bar was drawn %d times in %s, want about every %v", len(frames)-1, tt.wantTime, progressRedraw)
			}
		})
	}
	for _, proto := range []string{"tcp", "udp"} {
		t.Run("verbose prints every "+proto+" knock", func(t *testing.T) {
			args := append([]string{"--song", song, "-v", "127.0.0.1"}, quietPorts...)
			if proto == "udp" {
				args = append(args, "-u")
			}
			got := runKnock(t, false, args...)
			// The pitch knock for A4 (42000+69) first, then tone and
			// silence by turns, then play.
			want := []string{"hitting " + proto + " 127.0.0.1:42069"}
			for i := range 20 {
				if i > 0 {
					want = append(want, "hitting "+proto+" 127.0.0.1:41001")
				}
				want = append(want, "hitting "+proto+" 127.0.0.1:41000")
			}
			want = append(want, "hitting "+proto+" 127.0.0.1:41002",
				`knocked "forty-one" into 127.0.0.1: 41 knocks in 200ms; written 3.9s, it plays for 3.9s`, "")
			if lines := strings.Split(got.stdout, "\n"); got.status != ExitOK || !slices.Equal(want, lines) {
				t.Errorf("status %d; verbose lines (-want +got):\n-%q\n+%q", got.status, want, lines)
			}
		})
	}
}

func TestInterrupted(t *testing.T) {
	conns, ports := udpReceivers(t, "127.0.0.1", 3)
	song := writeFile(t, "forty-one.beep", fortyOneKnocks)
	tests := []struct {
		name     string
		args     []string
		cancelAt int // the pause between knocks at which SIGINT comes
		wantErr  string
		arrived  []*net.UDPConn
		lost     []*net.UDPConn
	}{
		{name: "port knocks", args: []string{"-u", "-d", "10", "127.0.0.1", ports[0], ports[1], ports[2]}, cancelAt: 2,
			wantErr: "knock: interrupted after 2 of 3 knocks: the sequence is incomplete\n", arrived: conns[:2], lost: conns[2:]},
		{name: "song", args: append([]string{"--song", song, "127.0.0.1"}, quietPorts...), cancelAt: 5,
			wantErr: "knock: interrupted after 5 of 41 knocks: the sequence is incomplete\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var stdout, stderr bytes.Buffer
			clock := newFakeClock(tt.cancelAt, cancel)
			status := run(ctx, tt.args, environment{stdout: &stdout, stderr: &stderr, clock: clock})
			if status != ExitInterrupted || stderr.String() != tt.wantErr || stdout.String() != "" {
				t.Errorf("(-want +got):\n-status %d, stderr %q, no stdout\n+status %d, stderr %q, stdout %q",
					ExitInterrupted, tt.wantErr, status, stderr.String(), stdout.String())
			}
			for _, conn := range tt.arrived {
				if !received(conn) {
					t.Errorf("a knock sent before the interrupt did not arrive at %v", conn.LocalAddr())
				}
			}
			for _, conn := range tt.lost {
				conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				if _, _, err := conn.ReadFromUDP(make([]byte, 8)); err == nil {
					t.Errorf("a knock arrived at %v after the interrupt", conn.LocalAddr())
				}
			}
		})
	}
}

// knock --song takes an embedded song's name when no file has it, and
// knocks exactly what the song file would.
func TestEmbeddedSongs(t *testing.T) {
	if len(songs.Names()) == 0 {
		t.Fatal("no embedded songs")
	}
	for _, file := range songs.Names() {
		name := strings.TrimSuffix(file, filepath.Ext(file))
		t.Run(name, func(t *testing.T) {
			path, err := filepath.Abs(filepath.Join(songsDir, file))
			if err != nil {
				t.Fatal(err)
			}
			t.Chdir(t.TempDir()) // no song file of that name here
			want := runKnock(t, false, "--song", path, "--dry-run")
			if want.status != ExitOK {
				t.Fatalf("dry run of the file %s: status %d, stderr %q", file, want.status, want.stderr)
			}
			for _, arg := range []string{name, file} {
				got := runKnock(t, false, "--song", arg, "--dry-run")
				if got.status != ExitOK || got.stderr != "" || got.stdout != want.stdout {
					t.Errorf("knock --song %s --dry-run (-want +got):\n-status 0, stdout %q\n+status %d, stdout %q, stderr %q",
						arg, want.stdout, got.status, got.stdout, got.stderr)
				}
			}
			if !strings.Contains(usage, name) {
				t.Errorf("the usage text does not name the embedded song %q", name)
			}
		})
	}
}

// A plan longer than a default daemon's pool is still sent, with a
// warning that names the config key to raise.
func TestLongSongWarning(t *testing.T) {
	warning := func(steps int) string {
		return fmt.Sprintf("knock: warning: \"long\" needs %d steps, more than the 10000 a knockbeepd music pool keeps by default: "+
			"a daemon whose config does not raise [music] max_steps to %d or more plays only the first 10000\n", steps, steps)
	}
	tests := []struct {
		name        string
		repeats     int // 100 ms tones: one step each
		dryRun      bool
		wantWarning string
	}{
		{name: "as long as a default pool", repeats: 10000, dryRun: true},
		{name: "one step longer, dry run", repeats: 10001, dryRun: true, wantWarning: warning(10001)},
		{name: "one step longer, sent", repeats: 10001, wantWarning: warning(10001)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			song := writeFile(t, "long.beep", fmt.Sprintf("beep -f 440 -l 100 -d 0 -r %d\n", tt.repeats))
			args := append([]string{"--song", song, "-d", "0"}, quietPorts...)
			if tt.dryRun {
				args = append(args, "--dry-run")
			} else {
				args = append(args, "127.0.0.1")
			}
			got := runKnock(t, false, args...)
			if got.status != ExitOK || got.stderr != tt.wantWarning {
				t.Errorf("knock %s (-want +got):\n-status 0, stderr %q\n+status %d, stderr %q",
					strings.Join(args, " "), tt.wantWarning, got.status, got.stderr)
			}
			// The pitch knock, the steps, the play knock.
			wantKnocks := fmt.Sprintf("\n%d knocks: %d tone, 0 silence, 1 pitch, 1 play", tt.repeats+2, tt.repeats)
			if !tt.dryRun {
				wantKnocks = fmt.Sprintf("knocked %q into 127.0.0.1: %d knocks in ", "long", tt.repeats+2)
			}
			if !strings.Contains("\n"+got.stdout, wantKnocks) {
				t.Errorf("stdout (-want +got):\n-...%s...\n+%s", wantKnocks, got.stdout)
			}
		})
	}

	// A voice of an orchestra too: the warning names the voice.
	song := writeFile(t, "long.beep", "beep -f 440 -l 100 -d 0 -r 10001\n")
	got := runKnock(t, false, "--song", song, "--song", "twinkle-twinkle", "--orchestra", "--dry-run", "a", "b")
	want := strings.Replace(warning(10001), `"long"`, `voice 1 ("long")`, 1)
	if got.status != ExitOK || got.stderr != want {
		t.Errorf("knock --orchestra with a long voice (-want +got):\n-status 0, stderr %q\n+status %d, stderr %q", want, got.status, got.stderr)
	}
}

// The warning's figure is the daemon's: knock/config's default for
// [music] max_steps, which knock cannot read from the daemon.
func TestWarningMatchesTheDaemonDefault(t *testing.T) {
	if got, want := sequence.DefaultDaemonPoolSteps, daemonconfig.Default().Music.MaxPoolSteps; got != want {
		t.Errorf("sequence.DefaultDaemonPoolSteps (-want +got):\n-%d (knock/config's default [music] max_steps)\n+%d", want, got)
	}
	if !strings.Contains(usage, fmt.Sprintf("more than %d steps", sequence.DefaultDaemonPoolSteps)) {
		t.Errorf("the usage text does not state the daemon's default of %d steps", sequence.DefaultDaemonPoolSteps)
	}
}
