package daemon

import (
	"context"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/knockbeep/knockbeep/clock/clocktest"
	"github.com/knockbeep/knockbeep/internal/logtest"
	"github.com/knockbeep/knockbeep/sequence"
)

// A feed is a replay file written while the daemon reads it, so a test
// can act between packets (reload, stop) as it would between live knocks.
type feed struct {
	t   *testing.T
	d   *Daemon
	w   *io.PipeWriter
	pw  *pcapgo.Writer
	n   uint64 // knocks written that the daemon must take
	ran chan error
	log *logtest.Buffer
}

// startFeed starts a daemon on a replay pipe.
func startFeed(t *testing.T, configPath string, ctx context.Context) *feed {
	t.Helper()
	return startFeedWith(t, configPath, ctx, Options{})
}

// startFeedWith starts a daemon on a replay pipe with opts, whose
// ConfigPath, Replay and Logger it sets.
func startFeedWith(t *testing.T, configPath string, ctx context.Context, opts Options) *feed {
	t.Helper()
	logger, logs := testLogger(t)
	opts.Logger = logger
	f := startFeedLogging(t, configPath, ctx, opts)
	f.log = logs
	return f
}

// startFeedLogging starts a daemon on a replay pipe with opts, whose
// ConfigPath and Replay it sets: without opts.Logger the log goes where
// the config says, and f.log is nil.
func startFeedLogging(t *testing.T, configPath string, ctx context.Context, opts Options) *feed {
	t.Helper()
	cfg, err := LoadConfig(configPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, w := io.Pipe()
	opts.ConfigPath, opts.Replay = configPath, r
	d, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	f := &feed{t: t, d: d, w: w, ran: make(chan error, 1)}
	go func() { f.ran <- d.Run(ctx) }()
	f.pw = pcapgo.NewWriter(w)
	if err := f.pw.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return f
}

// send writes packets that the daemon will take as knocks, and waits
// until it has acted on them.
func (f *feed) send(packets ...packet) {
	f.t.Helper()
	for _, p := range packets {
		writePacket(f.t, f.pw, p)
		f.n++
	}
	deadline := time.Now().Add(10 * time.Second)
	for f.d.Stats().Knocks < f.n {
		if time.Now().After(deadline) {
			f.t.Fatalf("the daemon took %d knocks, want %d", f.d.Stats().Knocks, f.n)
		}
		time.Sleep(time.Millisecond)
	}
}

// end closes the file and waits for Run to return.
func (f *feed) end() error {
	f.w.Close()
	select {
	case err := <-f.ran:
		return err
	case <-time.After(30 * time.Second):
		f.t.Fatal("Run did not return after the end of the file")
		return nil
	}
}

// waitFile waits until the file at path holds want.
func waitFile(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := readAll(t, path)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %q, want %q", filepath.Base(path), got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const doorsV1 = `
speaker = "none"
state_dir = "{{DIR}}/state"

[music]
enabled = false

[[door]]
name = "a"
sequence = ["7000", "8000", "9000"]
start_command = ["/bin/sh", "-c", "echo %IP% >> {{DIR}}/a.out"]

[[door]]
name = "b"
sequence = ["7100", "7200"]
start_command = ["/bin/sh", "-c", "echo %IP% >> {{DIR}}/b.out"]
`

// door "a" unchanged, "b" with a new sequence, "c" new.
const doorsV2 = `
speaker = "none"
state_dir = "{{DIR}}/state"

[music]
enabled = false

[[door]]
name = "c"
sequence = ["6000"]
start_command = ["/bin/sh", "-c", "echo %IP% >> {{DIR}}/c.out"]

[[door]]
name = "a"
sequence = ["7000", "8000", "9000"]
start_command = ["/bin/sh", "-c", "echo %IP% >> {{DIR}}/a.out"]

[[door]]
name = "b"
sequence = ["7100", "7300"]
start_command = ["/bin/sh", "-c", "echo %IP% >> {{DIR}}/b.out"]
`

// SIGHUP with a good config: the new doors take effect, the knocker half
// way through an unchanged door finishes it, the one half way through a
// changed door starts over. SIGHUP with a bad config: logged, and the
// doors stay as they were.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	_, path := testConfig(t, dir, doorsV1)
	f := startFeed(t, path, context.Background())
	const x, y = "192.0.2.10", "192.0.2.20"

	f.send(syn(0, x, hostAddr4, 7000), syn(1, y, hostAddr4, 7100))
	writeFile(t, path, strings.ReplaceAll(doorsV2, "{{DIR}}", dir))
	if err := f.d.Reload(); err != nil {
		t.Fatalf("Reload of a good config: %v", err)
	}
	if got := f.d.Stats().Match.Tracked; got != 1 {
		t.Errorf("after the reload %d attempts are tracked, want 1 (x's on the unchanged door a)", got)
	}
	f.send(syn(2, x, hostAddr4, 8000), syn(3, x, hostAddr4, 9000), // a opens: its attempt survived
		syn(4, y, hostAddr4, 7300), // b's attempt (on 7100, 7200) was dropped: nothing
		syn(5, y, hostAddr4, 6000)) // the new door c
	waitFile(t, filepath.Join(dir, "a.out"), x+"\n")
	waitFile(t, filepath.Join(dir, "c.out"), y+"\n")

	writeFile(t, path, strings.ReplaceAll(doorsV2, `name = "c"`, `name = "c"
sequense = ["6001"]`))
	err := f.d.Reload()
	if err == nil || !strings.Contains(err.Error(), `unknown key "sequense"`) {
		t.Fatalf("Reload of a config with a misspelt key: error %v, want one naming the key", err)
	}
	if !strings.Contains(f.log.String(), "the new config is not valid; keeping the old one") {
		t.Error("the bad config was not logged")
	}
	f.send(syn(6, y, hostAddr4, 7100), syn(7, y, hostAddr4, 7300), syn(8, x, hostAddr4, 6000))
	waitFile(t, filepath.Join(dir, "b.out"), y+"\n")
	waitFile(t, filepath.Join(dir, "c.out"), y+"\n"+x+"\n")
	if err := f.end(); err != nil {
		t.Fatal(err)
	}
}

// sshDoor is a door whose stop command comes an hour after its start
// command, and takes a moment to run.
const sshDoor = `
speaker = "none"
state_dir = "{{DIR}}/state"
[music]
enabled = false
[[door]]
name = "ssh"
sequence = ["7000", "8000"]
cmd_timeout = "1h"
start_command = ["/bin/sh", "-c", "echo open %IP% >> {{DIR}}/fw"]
stop_command = ["/bin/sh", "-c", "sleep 0.2; echo close %IP% >> {{DIR}}/fw"]
`

// SIGTERM with a stop command pending (cmd_timeout an hour away): the
// stop command runs before Run returns, not an hour later and not never.
func TestStopRunsPendingStopCommands(t *testing.T) {
	dir := t.TempDir()
	_, path := testConfig(t, dir, sshDoor)
	ctx, stop := context.WithCancel(context.Background())
	f := startFeed(t, path, ctx)
	f.send(syn(0, "192.0.2.10", hostAddr4, 7000), syn(1, "192.0.2.10", hostAddr4, 8000))
	waitFile(t, filepath.Join(dir, "fw"), "open 192.0.2.10\n")

	stop() // what SIGTERM does through signal.NotifyContext
	select {
	case err := <-f.ran:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if got, want := readAll(t, filepath.Join(dir, "fw")), "open 192.0.2.10\nclose 192.0.2.10\n"; got != want {
		t.Errorf("after stopping, the firewall log holds %q, want %q: the pending stop command must run", got, want)
	}
}

// A door's stop command waits its cmd_timeout on the daemon's clock: it
// runs when that much time has passed, not before.
func TestStopCommandAfterCmdTimeout(t *testing.T) {
	dir := t.TempDir()
	_, path := testConfig(t, dir, strings.Replace(sshDoor, `cmd_timeout = "1h"`, `cmd_timeout = "10s"`, 1))
	clk := clocktest.NewFake(captureStart)
	f := startFeedWith(t, path, context.Background(), Options{Clock: clk})
	fw := filepath.Join(dir, "fw")
	f.send(syn(0, "192.0.2.10", hostAddr4, 7000), syn(1, "192.0.2.10", hostAddr4, 8000))
	waitFile(t, fw, "open 192.0.2.10\n")
	// The stop command's timer is armed once the start command is done.
	if !clk.WaitPending(1, 10*time.Second) {
		t.Fatalf("no cmd_timeout timer armed after the start command; %d pending", clk.Pending())
	}
	clk.Advance(9 * time.Second)
	if clk.Pending() != 1 {
		t.Fatal("the stop command's timer fired 9s into a 10s cmd_timeout")
	}
	clk.Advance(time.Second)
	waitFile(t, fw, "open 192.0.2.10\nclose 192.0.2.10\n")
	if err := f.end(); err != nil {
		t.Fatal(err)
	}
}

// A one-time door opens once per line of its file, marks each used line
// with '#' as knockd does, and when the file is used up is disabled with
// a log line (knockd died of a double free there).
func TestOneTimeSequences(t *testing.T) {
	tests := []struct {
		name   string
		config string
	}{
		{name: "toml", config: `
speaker = "none"
state_dir = "{{DIR}}/state"
[music]
enabled = false
[[door]]
name = "once"
one_time_sequences = "{{DIR}}/seqs"
start_command = ["/bin/sh", "-c", "echo %IP% >> {{DIR}}/out"]
`},
		{name: "knockd.conf", config: `
[options]
	LogFile = {{DIR}}/knockd.log
[once]
	One_Time_Sequences = {{DIR}}/seqs
	Seq_Timeout = 5
	Start_Command = echo %IP% >> {{DIR}}/out
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			seqs := filepath.Join(dir, "seqs")
			writeFile(t, seqs, " 7000,8000\n 7001,8001:udp\n")
			_, path := testConfig(t, dir, tt.config)
			f := startFeed(t, path, context.Background())
			const x = "192.0.2.10"
			out := filepath.Join(dir, "out")

			f.send(syn(0, x, hostAddr4, 7000), syn(1, x, hostAddr4, 8000))
			waitFile(t, out, x+"\n")
			if got, want := readAll(t, seqs), "#7000,8000\n 7001,8001:udp\n"; got != want {
				t.Errorf("after the first success the file holds %q, want %q", got, want)
			}
			// The used sequence no longer opens: its ports are not even
			// in the filter any more (Knocks counts only the next two).
			// The next line opens.
			writePacket(t, f.pw, syn(2, x, hostAddr4, 7000))
			writePacket(t, f.pw, syn(3, x, hostAddr4, 8000))
			f.send(syn(4, x, hostAddr4, 7001), udp(5, x, hostAddr4, 8001))
			waitFile(t, out, x+"\n"+x+"\n")
			if got, want := readAll(t, seqs), "#7000,8000\n#7001,8001:udp\n"; got != want {
				t.Errorf("after the second success the file holds %q, want %q", got, want)
			}
			// Used up: the door is closed, and knocking on does no harm.
			for _, port := range []uint16{7000, 8000, 7001, 8001} {
				writePacket(t, f.pw, syn(6, x, hostAddr4, port))
			}
			if err := f.end(); err != nil {
				t.Fatal(err)
			}
			log := f.log.String()
			if !strings.Contains(log, "door disabled: its one-time sequences are used up") {
				t.Error("the used-up door was not logged")
			}
			if got := readAll(t, out); got != x+"\n"+x+"\n" {
				t.Errorf("the door's command ran for %q, want twice for %s", got, x)
			}
		})
	}
}

// A knockd.conf whose only door's one-time file is already used up starts
// (knockd died there), says why the door is closed, and that nothing can
// happen until a reload.
func TestStartWithUsedUpOneTimeFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "seqs"), "#7000,8000\n")
	cfg, _ := testConfig(t, dir, "[once]\n\tOne_Time_Sequences = {{DIR}}/seqs\n\tStart_Command = true\n")
	cfg.StateDir = filepath.Join(dir, "state")
	logger, logs := testLogger(t)
	replay(t, cfg, Options{Logger: logger}, pcapFile(t, syn(0, "192.0.2.10", hostAddr4, 7000)))
	for _, want := range []string{`msg="daemon: door disabled" door=once`, "nothing to listen for until a reload"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, logs)
		}
	}
}

// SIGHUP with new music ports and limits: the music doors change in
// place. A pitch knocked before the reload still sets the tones knocked
// after it, on the new ports, and the songs playing and queued at the
// reload play to the end.
func TestReloadMusicInPlace(t *testing.T) {
	dir := t.TempDir()
	const v1 = `
speaker = "none"
state_dir = "{{DIR}}/state"
[music]
step = "200ms"
`
	_, path := testConfig(t, dir, v1)
	f := startFeed(t, path, context.Background())
	const x, y, z = "192.0.2.10", "192.0.2.20", "192.0.2.30"
	f.send(syn(0, x, hostAddr4, 2072), syn(1, x, hostAddr4, 1000), // C5, a tone
		syn(2, y, hostAddr4, 1000), syn(3, y, hostAddr4, 1002), // y's song plays for 200ms...
		syn(4, z, hostAddr4, 1001), syn(5, z, hostAddr4, 1000), syn(6, z, hostAddr4, 1002)) // ...while z's waits

	v2 := strings.ReplaceAll(v1, "[music]", "[music]\ntone_port = 3000\nsilence_port = 3001\nplay_port = 3002\npitch_base = 4000\nmax_steps = 100")
	writeFile(t, path, strings.ReplaceAll(v2, "{{DIR}}", dir))
	if err := f.d.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	f.send(syn(7, x, hostAddr4, 3000), syn(8, x, hostAddr4, 3002))
	if err := f.end(); err != nil { // Run waits for the songs queued
		t.Fatal(err)
	}

	played := playedSongs(t, filepath.Join(dir, "state"))
	var who []string
	for _, s := range played {
		who = append(who, s.pool)
	}
	if len(played) != 3 {
		t.Fatalf("songs played: %q, want 3: y's and z's from before the reload, x's after it", who)
	}
	c5 := sequence.NoteFreq(72)
	want := []sequence.PoolStep{{Kind: sequence.StepTone, Freq: c5, Length: 200 * time.Millisecond}, {Kind: sequence.StepTone, Freq: c5, Length: 200 * time.Millisecond}}
	for _, s := range played {
		if strings.Contains(s.pool, x) && !slices.Equal(s.steps, want) {
			t.Errorf("x's song (-want +got):\n-%v\n+%v", want, s.steps)
		}
	}
	if st := f.d.Stats().Music; st.Played != 3 || st.PlayErrors != 0 {
		t.Errorf("Stats().Music: Played %d, PlayErrors %d; want 3 and 0: no song cut off or stranded", st.Played, st.PlayErrors)
	}
	if !strings.Contains(f.log.String(), "music_reloaded=true") {
		t.Errorf("the reload did not log music_reloaded=true:\n%s", f.log)
	}
}

// Spoofed pitch knocks hold the music doors' places (max_pools) only
// until [music] pool_idle_timeout: the daemon's once-a-second tick, on
// its clock, forgets them and a real knocker gets in.
func TestMusicIdleSourcesForgotten(t *testing.T) {
	dir := t.TempDir()
	_, path := testConfig(t, dir, `
speaker = "none"
state_dir = "{{DIR}}/state"
[music]
max_pools = 1
pool_idle_timeout = "10m"
`)
	clk := clocktest.NewFake(captureStart)
	f := startFeedWith(t, path, context.Background(), Options{Clock: clk})
	const spoofed, real = "198.51.100.7", "192.0.2.10"
	f.send(syn(0, spoofed, hostAddr4, 2060), syn(time.Millisecond, real, hostAddr4, 1000))
	if got := f.d.Stats().Music.Refused.TooManyPools; got != 1 {
		t.Fatalf("Refused.TooManyPools = %d while the spoofed source holds the one place, want 1", got)
	}
	clk.Advance(10 * time.Minute)
	f.send(syn(2*time.Second, real, hostAddr4, 1000))
	if err := f.end(); err != nil {
		t.Fatal(err)
	}
	if st := f.d.Stats().Music; st.Forgotten != 1 || st.Steps != 1 {
		t.Errorf("Stats().Music: Forgotten %d, Steps %d; want 1 (the spoofed source) and 1 (the real knocker's step)", st.Forgotten, st.Steps)
	}
	if got := readPool(t, filepath.Join(dir, "state", "pools", real+".pool")); len(got) != 1 {
		t.Errorf("the real knocker's pool holds %v, want its one step", got)
	}
}

// A door's command_timeout kills its command; another door's command,
// with "0s", runs as long as it takes.
func TestCommandTimeoutPerDoor(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := testConfig(t, dir, `
speaker = "none"
state_dir = "{{DIR}}/state"
[music]
enabled = false
[[door]]
name = "hangs"
sequence = "7000"
shell = true
start_command = "sleep 30; echo late >> {{DIR}}/out"
command_timeout = "100ms"
[[door]]
name = "slow"
sequence = "7001"
shell = true
start_command = "sleep 0.3; echo slow >> {{DIR}}/out"
command_timeout = "0s"
`)
	logger, _ := testLogger(t)
	d := replay(t, cfg, Options{Logger: logger}, pcapFile(t, syn(0, "192.0.2.10", hostAddr4, 7000), syn(1, "192.0.2.10", hostAddr4, 7001)))
	if got := d.Stats().Commands; got.TimedOut != 1 || got.Succeeded != 1 {
		t.Errorf("Stats().Commands: TimedOut %d, Succeeded %d; want 1 (hangs) and 1 (slow)", got.TimedOut, got.Succeeded)
	}
	if got, want := readAll(t, filepath.Join(dir, "out")), "slow\n"; got != want {
		t.Errorf("out = %q, want %q", got, want)
	}
}

// Lines of a one-time file that are not sequences are skipped, as knockd
// does, but not silently: the log names the file and the line, at start
// and each time the door moves on past one.
func TestOneTimeInvalidLinesLogged(t *testing.T) {
	dir := t.TempDir()
	seqs := filepath.Join(dir, "seqs")
	writeFile(t, seqs, "#1,2\n bad\n 7000,8000\n 7OO1,8001\n 7001,8001\n")
	cfg, _ := testConfig(t, dir, "[once]\n\tOne_Time_Sequences = {{DIR}}/seqs\n\tStart_Command = true\n")
	cfg.StateDir = filepath.Join(dir, "state")
	logger, logs := testLogger(t)
	replay(t, cfg, Options{Logger: logger}, pcapFile(t, syn(0, "192.0.2.10", hostAddr4, 7000), syn(1, "192.0.2.10", hostAddr4, 8000)))
	for _, want := range []string{
		`msg="daemon: config: one_time_sequences ` + seqs + `: line 2 skipped: port \"bad\" is not a number: fix or remove it"` + "\n",
		`msg="daemon: config: one_time_sequences ` + seqs + `: line 4 skipped: port \"7OO1\" is not a number: fix or remove it" door=once` + "\n",
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q", want)
		}
	}
	if got, want := readAll(t, seqs), "#1,2\n bad\n#7000,8000\n 7OO1,8001\n 7001,8001\n"; got != want {
		t.Errorf("seqs = %q, want %q", got, want)
	}
}
