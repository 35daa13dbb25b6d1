package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/client"
	"github.com/knockbeep/knockbeep/knock/send"
	"github.com/knockbeep/knockbeep/knock/send/sendtest"
	"github.com/knockbeep/knockbeep/sequence"
	"github.com/knockbeep/knockbeep/songs"
)

// A daemonProc is knockbeepd running as a process inside a network
// namespace: this test binary, re-executed (see TestMain), with its log as
// JSON lines on stderr.
type daemonProc struct {
	t      testing.TB
	cmd    *exec.Cmd
	dir    string // its config, state directory and outputs
	mu     sync.Mutex
	lines  []map[string]any
	raw    strings.Builder
	exited chan error
}

// startDaemon writes config (with {{DIR}} for the daemon's directory) and
// starts the daemon in ns with it, then waits until it captures.
func startDaemon(t testing.TB, ns *sendtest.Netns, config string, args ...string) *daemonProc {
	t.Helper()
	return startDaemonIn(t, ns, t.TempDir(), config, args...)
}

// startDaemonIn is startDaemon with the daemon's directory given: a
// restarted daemon finds its state where the last one left it.
func startDaemonIn(t testing.TB, ns *sendtest.Netns, dir, config string, args ...string) *daemonProc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "wav"), 0o755); err != nil { // for speaker wav:{{DIR}}/wav
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "knockbeepd.toml")
	writeFile(t, conf, strings.ReplaceAll(config, "{{DIR}}", dir)+`
[log]
format = "json"
level = "info"
`)
	p := &daemonProc{t: t, dir: dir, exited: make(chan error, 1)}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", ns.Name(), exe, "-c", conf}, args...)...)
	p.cmd.Env = append(os.Environ(), daemonEnv+"=1")
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go p.read(stderr)
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", p.log())
		}
	})
	p.waitLog("daemon: capturing", 30*time.Second)
	return p
}

func (p *daemonProc) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		json.Unmarshal(sc.Bytes(), &rec) // a line that is not JSON is kept in raw only
		p.mu.Lock()
		p.raw.WriteString(sc.Text() + "\n")
		if rec != nil {
			p.lines = append(p.lines, rec)
		}
		p.mu.Unlock()
	}
	p.exited <- p.cmd.Wait()
}

func (p *daemonProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.raw.String()
}

// waitLog waits for a log record with message msg and returns it.
func (p *daemonProc) waitLog(msg string, limit time.Duration) map[string]any {
	p.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		p.mu.Lock()
		for _, rec := range p.lines {
			if rec["msg"] == msg {
				p.mu.Unlock()
				return rec
			}
		}
		p.mu.Unlock()
		select {
		case err := <-p.exited:
			p.exited <- err
			p.t.Fatalf("the daemon exited (%v) before logging %q", err, msg)
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the daemon did not log %q within %v", msg, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kernelDrops is the number of packets the kernel dropped before the
// daemon could read them, as the daemon last reported it (once a second).
func (p *daemonProc) kernelDrops() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	total := 0.0
	for _, rec := range p.lines {
		if n, ok := rec["total"].(float64); ok && strings.HasPrefix(rec["msg"].(string), "daemon: the kernel dropped packets") {
			total = n
		}
	}
	return total
}

// kill kills the daemon with SIGKILL, as a crash would, and waits until
// it is gone.
func (p *daemonProc) kill() {
	p.cmd.Process.Kill()
	p.exited <- <-p.exited
}

// stop sends SIGTERM and waits for a clean exit; it returns the final
// counters the daemon logged.
func (p *daemonProc) stop() map[string]any {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		p.exited <- err
		if err != nil {
			p.t.Fatalf("after SIGTERM the daemon exited with %v, want status 0", err)
		}
	case <-time.After(30 * time.Second):
		p.t.Fatal("the daemon did not exit within 30s of SIGTERM")
	}
	return p.waitLog("daemon: stopped", time.Second)
}

// knockSong composes song and knocks it into addr from inside ns, paced
// as the knock client paces songs.
func knockSong(t *testing.T, ns *sendtest.Netns, addr netip.Addr, plan sequence.Plan) {
	t.Helper()
	err := ns.Do(func() error {
		s := send.NewSender(addr, send.Options{Delay: client.DefaultSongDelay})
		for i, k := range plan.Knocks {
			if err := s.Knock(context.Background(), send.Target{Port: k.Port(plan.Protocol), Proto: knock.TCP}); err != nil {
				return fmt.Errorf("knock %d of %d: %w", i+1, len(plan.Knocks), err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// knockPorts knocks targets into addr from inside ns.
func knockPorts(t testing.TB, ns *sendtest.Netns, addr netip.Addr, targets ...send.Target) {
	t.Helper()
	err := ns.Do(func() error {
		s := send.NewSender(addr, send.Options{})
		for _, tg := range targets {
			if err := s.Knock(context.Background(), tg); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitSongs waits until n songs have been archived with their WAVs.
func waitSongs(t *testing.T, stateDir string, n int) []playedSong {
	t.Helper()
	songs, ok := songsPlayed(t, stateDir, n, 30*time.Second)
	if !ok {
		t.Fatalf("%d songs played, want %d", len(songs), n)
	}
	return songs
}

// checkSong asserts that a played song is plan: the pool, step by step,
// and the WAV, note by note.
func checkSong(t *testing.T, song playedSong, plan sequence.Plan) {
	t.Helper()
	want := plan.Expected()
	if diff := diffTones(want, sequence.Compile(song.steps)); diff != "" {
		t.Fatalf("pool %s: %s", filepath.Base(song.pool), diff)
	}
	checkWAV(t, song.wav, want)
}

// songAttempts is how often a song is knocked in when the kernel reports
// dropping packets: on an overloaded machine the capture's reader can
// stall long enough for the kernel's ring to fill even at a song's pace.
// A song that arrives wrong without a kernel drop fails at once.
const songAttempts = 3

// knockAndCheckSong knocks plan into the daemon and checks the song it
// played; played is the number of songs played before. It returns the
// number played after.
func knockAndCheckSong(t *testing.T, d *daemonProc, knocker *sendtest.Netns, addr netip.Addr, plan sequence.Plan, played int) int {
	t.Helper()
	state := filepath.Join(d.dir, "state")
	for attempt := 1; ; attempt++ {
		drops := d.kernelDrops()
		knockSong(t, knocker, addr, plan)
		songs, ok := songsPlayed(t, state, played+1, 10*time.Second)
		if ok {
			played++
			song := songs[played-1]
			if diffTones(plan.Expected(), sequence.Compile(song.steps)) == "" || attempt == songAttempts {
				checkSong(t, song, plan)
				return played
			}
		}
		time.Sleep(1500 * time.Millisecond) // the daemon reports drops once a second
		if d.kernelDrops() == drops || attempt == songAttempts {
			if !ok {
				t.Fatalf("no song played after the play knock (%d played before)", played)
			}
			checkSong(t, songs[played-1], plan) // wrong, and not for want of packets: fails
		}
		t.Logf("attempt %d: the kernel dropped %v packets before the daemon read them (an overloaded machine); knocking the song again",
			attempt, d.kernelDrops()-drops)
		if !ok {
			// The play knock was lost: play what did arrive, to start
			// the next attempt with an empty pool.
			knockSong(t, knocker, addr, sequence.Plan{Protocol: plan.Protocol, Knocks: []sequence.Knock{{Kind: sequence.KnockPlay}}})
			played++
			waitSongs(t, state, played)
		}
	}
}

// songsPlayed waits until n songs have been archived with their WAVs,
// and returns the songs archived; false if there were not n within limit.
func songsPlayed(t *testing.T, stateDir string, n int, limit time.Duration) ([]playedSong, bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		wavs, _ := filepath.Glob(filepath.Join(stateDir, "played", "*.wav"))
		if len(wavs) >= n || time.Now().After(deadline) {
			return playedSongs(t, stateDir), len(wavs) >= n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// e2eConfig is the daemon's config in the end-to-end tests: the music
// doors with a WAV speaker, and a command door whose command writes what
// it was given.
const e2eConfig = `
speaker = "wav:{{DIR}}/wav"
state_dir = "{{DIR}}/state"

[music]

[[door]]
name = "ssh"
sequence = ["7000", "8000:udp", "9000"]
tcpflags = "syn,!ack"
start_command = ["/bin/sh", "-c", "echo %IP% %PORT% %PROTO% %DOOR% >> {{DIR}}/door.out"]
`

var doorKnocks = []send.Target{{Port: 7000, Proto: knock.TCP}, {Port: 8000, Proto: knock.UDP}, {Port: 9000, Proto: knock.TCP}}

// runEndToEnd knocks the command door and songs from knocker into the
// daemon at addr4 and addr6, and checks what came out.
func runEndToEnd(t *testing.T, knocker, host *sendtest.Netns, iface string, addr4, addr6, src4, src6 netip.Addr) {
	d := startDaemon(t, host, e2eConfig, "-i", iface)
	out := filepath.Join(d.dir, "door.out")

	t.Run("command door ipv4", func(t *testing.T) {
		knockPorts(t, knocker, addr4, doorKnocks...)
		waitFile(t, out, src4.String()+" 9000 tcp ssh\n")
	})
	t.Run("command door ipv6", func(t *testing.T) {
		knockPorts(t, knocker, addr6, doorKnocks...)
		waitFile(t, out, src4.String()+" 9000 tcp ssh\n"+src6.String()+" 9000 tcp ssh\n")
	})
	imperial := composeSong(t, songs.ImperialMarch, sequence.ComposeOptions{})
	played := 0
	t.Run("imperial march ipv4", func(t *testing.T) {
		played = knockAndCheckSong(t, d, knocker, addr4, imperial, played)
	})
	t.Run("imperial march ipv6", func(t *testing.T) {
		played = knockAndCheckSong(t, d, knocker, addr6, imperial, played)
	})
	t.Run("imperial march without pitch", func(t *testing.T) {
		plan := composeSong(t, songs.ImperialMarch, sequence.ComposeOptions{NoPitch: true})
		played = knockAndCheckSong(t, d, knocker, addr4, plan, played)
		song := playedSongs(t, filepath.Join(d.dir, "state"))[played-1]
		var tones, silences int
		for _, s := range song.steps {
			if s.Kind == sequence.StepTone {
				tones++
			} else {
				silences++
			}
		}
		if tones != 171 || silences != 82 {
			t.Errorf("pool: %d steps (%d tone, %d silence), want 253 (171 tone, 82 silence)", tones+silences, tones, silences)
		}
	})
	d.stop()
}

// The daemon on the loopback interface of a namespace of its own (so that
// no other test's knocks on the host's lo reach it), knocked with real
// SYNs over IPv4 and IPv6.
func TestEndToEndLoopback(t *testing.T) {
	ns := sendtest.NewNetns(t)
	lo4, lo6 := netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()
	runEndToEnd(t, ns, ns, "lo", lo4, lo6, lo4, lo6)
}

// Two namespaces joined by a veth pair: the knocker on one side, the
// daemon capturing on the other side's end.
func TestEndToEndVeth(t *testing.T) {
	knocker, host := sendtest.NewNetns(t), sendtest.NewNetns(t)
	knocker.IP("link", "add", "wire", "type", "veth", "peer", "name", "wire", "netns", host.Name())
	addrs := map[*sendtest.Netns][2]string{knocker: {"10.78.0.1", "fd78::1"}, host: {"10.78.0.2", "fd78::2"}}
	for ns, a := range addrs {
		ns.IP("addr", "add", a[0]+"/24", "dev", "wire")
		ns.IP("addr", "add", a[1]+"/64", "dev", "wire", "nodad")
		ns.IP("link", "set", "wire", "up")
	}
	runEndToEnd(t, knocker, host, "wire",
		netip.MustParseAddr("10.78.0.2"), netip.MustParseAddr("fd78::2"),
		netip.MustParseAddr("10.78.0.1"), netip.MustParseAddr("fd78::1"))
}

// knockbeepd --demo, run as the README says, in a namespace of its own:
// the Imperial March arrives as composed, and its WAV and pool are where
// the report says.
func TestDemo(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		opts   sequence.ComposeOptions
		report []string
	}{
		{name: "one knock per step", opts: sequence.ComposeOptions{}, report: []string{
			"314 knocks: 171 tone, 82 silence, 60 pitch, 1 play",
			"314 knocks; the song lasts 21.55s as written and plays 25.3s as knocked; one knock per note (--notes) would take 68 knocks and play 21.55s",
			"the daemon received all 314 knocks: 253 steps, 66 notes, 25.3s of music, exactly as composed",
		}},
		{name: "one knock per note", args: []string{"--notes"}, opts: sequence.ComposeOptions{Notes: true}, report: []string{
			"68 knocks: 66 note, 0 rest, 1 pitch, 1 play",
			"68 knocks; the song lasts 21.55s as written and plays 21.55s as knocked",
			"the daemon received all 68 knocks: 131 steps, 66 notes, 21.6s of music, exactly as composed",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runDemo(t, tt.args, tt.report, composeSong(t, songs.ImperialMarch, tt.opts))
		})
	}
}

// runDemo runs knockbeepd --demo with args and checks its report and the
// song it played against plan.
func runDemo(t *testing.T, args, report []string, plan sequence.Plan) {
	ns := sendtest.NewNetns(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	state, wavs := t.TempDir(), t.TempDir()
	// A WAV speaker, so that a machine with a PC speaker does not play
	// for 25 s (there "auto" would choose it).
	var out []byte
	for attempt := 1; ; attempt++ {
		cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name(), exe, "--demo", "-v", "--state-dir", state, "--speaker", "wav:" + wavs}, args...)...)
		cmd.Env = append(os.Environ(), daemonEnv+"=1")
		out, err = cmd.CombinedOutput()
		if err == nil {
			break
		}
		if attempt == songAttempts || !strings.Contains(string(out), "the kernel dropped") {
			t.Fatalf("knockbeepd --demo: %v\n%s", err, out)
		}
		t.Logf("attempt %d: the kernel dropped knocks before the daemon read them (an overloaded machine); again", attempt)
		for _, sub := range []string{"played", "pools"} {
			os.RemoveAll(filepath.Join(state, sub))
		}
	}
	for _, want := range append([]string{
		`knocking "imperial-march" into 127.0.0.1`,
		"wav:  " + filepath.Join(state, "played"),
		"pool: " + filepath.Join(state, "played"),
	}, report...) {
		if !strings.Contains(string(out), want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	played := playedSongs(t, state)
	if len(played) != 1 || played[0].wav == "" {
		t.Fatalf("played/ holds %v, want one pool and its WAV", played)
	}
	checkSong(t, played[0], plan)
}
