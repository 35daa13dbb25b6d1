package daemon

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/message"
	"github.com/knockbeep/knockbeep/knock/portlang"
	"github.com/knockbeep/knockbeep/sequence"
)

// messageSetup writes a key and a config with one message door, "notify"
// (period 10 s, skew 1, range 40000-49999), whose command writes the text
// it gets as one argument to {{DIR}}/out, a line per message.
func messageSetup(t *testing.T) (dir string, key []byte) {
	t.Helper()
	dir = t.TempDir()
	key = newKeyFile(t, filepath.Join(dir, "notify.key"))
	testConfig(t, dir, `
speaker = "none"
state_dir = "{{DIR}}/state"
[music]
enabled = false
[[door]]
name = "notify"
kind = "message"
secret_file = "{{DIR}}/notify.key"
period = "10s"
skew = 1
timeout = "5s"
port_range = "40000-49999"
start_command = ["/bin/sh", "-c", "printf '%s\n' \"$1\" >> {{DIR}}/out", "sh", "%MESSAGE%"]
`)
	return dir, key
}

// messageKnocks are text's knocks with parity parity knocks, from src,
// sent in the period of the capture time at, 1 ms apart.
func messageKnocks(t *testing.T, key []byte, text string, parity int, src string, at time.Duration) []packet {
	t.Helper()
	q := portlang.PeriodAt(captureStart.Add(at), 10*time.Second)
	c, err := message.NewCode(key, "notify", q, portlang.Shape{Lo: 40000, Hi: 49999, Protos: []knock.Proto{knock.TCP}})
	if err != nil {
		t.Fatal(err)
	}
	steps, err := c.Encode([]byte(text), parity)
	if err != nil {
		t.Fatal(err)
	}
	ps := make([]packet, len(steps))
	for i, st := range steps {
		ps[i] = syn(at+time.Duration(i)*time.Millisecond, src, hostAddr4, st.Port)
	}
	return ps
}

// reshuffle gives ps new times in a shuffled order, from at, 1 ms apart:
// what a path that reorders packets delivers.
func reshuffle(ps []packet, at time.Duration, seed uint64) []packet {
	out := append([]packet(nil), ps...)
	rand.New(rand.NewPCG(seed, seed+1)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	for i := range out {
		out[i].at = at + time.Duration(i)*time.Millisecond
	}
	return out
}

// A 200-byte message of mixed scripts, its knocks shuffled, some sent
// twice and some lost (one per parity class), reaches the door's command
// exactly, as one argument; the same knocks replayed later in the period
// deliver nothing (refused and logged), also after a restart; a message
// missing knocks beyond its parity runs nothing, and the log says why.
func TestMessageDoorDelivers(t *testing.T) {
	dir, key := messageSetup(t)
	text := "deploy v1.2 ✓ — Grüße, привет, 日本語, مرحبا 🎵 'quoted' \"double\" $(not a command) "
	for len(text) < 200 {
		text += "."
	}
	knocks := messageKnocks(t, key, text, 8, "203.0.113.7", time.Second)
	// Lose the data knocks at frame positions 12-19 (one per parity
	// class), send 50 others twice, and shuffle the rest.
	sent := append(append([]packet(nil), knocks[:12]...), knocks[20:]...)
	sent = append(sent, knocks[30:80]...)
	sent = reshuffle(sent, time.Second, 1)
	// The whole message again, same period, once the first attempt's
	// timeout (5 s) is over: repeats within it are the same attempt's.
	replayed := reshuffle(knocks, 6500*time.Millisecond, 2)
	short := messageKnocks(t, key, "cut short", 0, "198.51.100.9", 5*time.Second)
	short = short[:len(short)-3]
	cfg, _ := testConfig(t, dir, readAll(t, filepath.Join(dir, "knockbeepd.toml")))
	logger, logs := testLogger(t)
	later := syn(20*time.Second, "192.0.2.99", hostAddr4, 45000) // moves the file's time on past every timeout
	d := replay(t, cfg, Options{Logger: logger}, pcapFile(t, concat(sent, short, replayed, []packet{later})...))
	if got := readAll(t, filepath.Join(dir, "out")); got != text+"\n" {
		t.Fatalf("the command got %q, want the text once", got)
	}
	st := d.Stats()
	if st.Messages.Messages != 2 || st.Refused != 1 || !strings.Contains(logs.String(), "sequence already used (a replay)") {
		t.Errorf("messages %d refused %d; want the replay reassembled and refused:\n%s", st.Messages.Messages, st.Refused, logs.String())
	}
	if !strings.Contains(logs.String(), "daemon: message not delivered") || !strings.Contains(logs.String(), "3 of its 34 data knocks missing") {
		t.Errorf("the cut message is not logged with its reason:\n%s", logs.String())
	}
	// A restart: the replay cache is on disk.
	cfg, _ = testConfig(t, dir, readAll(t, filepath.Join(dir, "knockbeepd.toml")))
	d = replay(t, cfg, Options{Logger: logger}, pcapFile(t, reshuffle(knocks, 6*time.Second, 3)...))
	if got := readAll(t, filepath.Join(dir, "out")); got != text+"\n" || d.Stats().Refused != 1 {
		t.Errorf("after a restart: the command got %q, refused %d; want the replay refused", got, d.Stats().Refused)
	}
}

// Knocks into a message door's range are the door's: they reach neither
// the matcher nor another door. Stray ones (a few, or a message's worth
// that reads as no message) are counted and summed up once a tick, not
// logged one by one: a flood would fill the log.
func TestMessageDoorStrayKnocks(t *testing.T) {
	dir, _ := messageSetup(t)
	cfg, _ := testConfig(t, dir, readAll(t, filepath.Join(dir, "knockbeepd.toml")))
	var ps []packet
	for i := range 20 {
		ps = append(ps, syn(time.Duration(i)*time.Millisecond, "192.0.2.50", hostAddr4, uint16(40000+i*97)))
	}
	for i := range 40 {
		ps = append(ps, syn(time.Duration(i)*time.Millisecond, "192.0.2.51", hostAddr4, uint16(41000+i*89)))
	}
	ps = append(ps, syn(30*time.Second, "192.0.2.99", hostAddr4, 45000)) // time runs on past the door's timeout
	logger, logs := testLogger(t)
	d := replay(t, cfg, Options{Logger: logger}, pcapFile(t, ps...))
	st := d.Stats()
	if st.Messages.Knocks != 61 || st.Messages.Messages != 0 || st.Messages.Noise != 2 || st.Messages.Dropped != 0 || st.Match.Started != 0 {
		t.Errorf("message stats %+v, attempts %d; want 61 knocks, both sources' attempts noise", st.Messages, st.Match.Started)
	}
	if readAll(t, filepath.Join(dir, "out")) != "" {
		t.Error("stray knocks ran the command")
	}
	if strings.Contains(logs.String(), "message not delivered") || !strings.Contains(logs.String(), "read as no message") || !strings.Contains(logs.String(), "attempts=2") {
		t.Errorf("want one summary line for the two stray attempts, none for each:\n%s", logs.String())
	}
}

// A message door with play = "morse" also plays each text on the music
// doors' speaker, as Morse code at [music] morse_wpm: the WAV under
// played/ is the text's dots and dashes, exactly.
func TestMessageDoorPlaysMorse(t *testing.T) {
	dir, key := messageSetup(t)
	conf := filepath.Join(dir, "knockbeepd.toml")
	text := readAll(t, conf)
	text = strings.Replace(text, `speaker = "none"`, `speaker = "wav:{{DIR}}/wav"`, 1)
	text = strings.Replace(text, "[music]\nenabled = false", "[music]\nmorse_wpm = 25\nnote_base = 0", 1) // note ports off: the door's range is theirs
	text = strings.Replace(text, `kind = "message"`, "kind = \"message\"\nplay = \"morse\"", 1)
	text = strings.ReplaceAll(text, dir, "{{DIR}}")
	if err := os.MkdirAll(filepath.Join(dir, "wav"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, _ := testConfig(t, dir, text)
	logger, logs := testLogger(t)
	replay(t, cfg, Options{Logger: logger}, pcapFile(t, messageKnocks(t, key, "SOS ok", 2, "203.0.113.7", time.Second)...))
	if got := readAll(t, filepath.Join(dir, "out")); got != "SOS ok\n" {
		t.Fatalf("the command got %q", got)
	}
	wavs, err := filepath.Glob(filepath.Join(dir, "state", "played", "*.wav"))
	if err != nil || len(wavs) != 1 {
		t.Fatalf("played WAVs %v (%v), want one:\n%s", wavs, err, logs.String())
	}
	want, err := sequence.Morse("SOS ok", 25)
	if err != nil {
		t.Fatal(err)
	}
	checkWAV(t, wavs[0], want)
}

// --show-sequence refuses a message door (it has no sequence), and
// --check names it as one.
func TestMessageDoorCLI(t *testing.T) {
	dir, _ := messageSetup(t)
	path := filepath.Join(dir, "knockbeepd.toml")
	var stdout, stderr strings.Builder
	if status := Main(context.Background(), []string{"-c", path, "--show-sequence", "notify"}, &stdout, &stderr, nil); status != ExitConfig ||
		!strings.Contains(stderr.String(), "is a message door: it has no sequence") {
		t.Errorf("--show-sequence: status %d, %q", status, stderr.String())
	}
	stdout.Reset()
	if status := Main(context.Background(), []string{"-c", path, "--check"}, &stdout, &stderr, nil); status != ExitOK ||
		!strings.Contains(stdout.String(), `door "notify" takes messages`) {
		t.Errorf("--check: status %d, %q", status, stdout.String())
	}
}
