package daemon

import (
	"context"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/portlang"
)

// rotatingSetup writes a key and a config with one rotating door of a 10 s
// period and a 5 s timeout, whose command appends the knocker to
// DIR/out.
func rotatingSetup(t *testing.T, skew int) (dir string, key []byte) {
	t.Helper()
	dir = t.TempDir()
	key = newKeyFile(t, filepath.Join(dir, "rot.key"))
	testConfig(t, dir, `
speaker = "none"
state_dir = "{{DIR}}/state"
[music]
enabled = false
[[door]]
name = "rot"
secret_file = "{{DIR}}/rot.key"
period = "10s"
skew = `+string(rune('0'+skew))+`
timeout = "5s"
shell = true
start_command = "echo %IP% >> {{DIR}}/out"
`)
	return dir, key
}

// newKeyFile writes a new key to path and returns it.
func newKeyFile(t *testing.T, path string) []byte {
	t.Helper()
	if err := portlang.WriteKeyFile(path); err != nil {
		t.Fatal(err)
	}
	key, err := portlang.ReadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// periodOf is the number of the period holding at in a test capture.
func periodOf(at time.Duration) int64 {
	return portlang.PeriodAt(captureStart.Add(at), 10*time.Second)
}

// knocksFor is the door's sequence for period q as SYNs from src, gap
// apart from at.
func knocksFor(t *testing.T, key []byte, q int64, src string, at, gap time.Duration) []packet {
	t.Helper()
	return boundKnocksFor(t, key, q, "", src, at, gap)
}

// boundKnocksFor is knocksFor for a door with bind_source: the sequence
// derived for the knocker forWhom, sent from src ("" derives the unbound
// sequence).
func boundKnocksFor(t *testing.T, key []byte, q int64, forWhom, src string, at, gap time.Duration) []packet {
	t.Helper()
	p := portlang.Params{Purpose: portlang.PurposeDoor, Name: "rot", Period: q}
	if forWhom != "" {
		p.Source = netip.MustParseAddr(forWhom)
	}
	seq, err := portlang.Sequence(key, p, portlang.Shape{Length: 4, Lo: 20000, Hi: 32767, Protos: []knock.Proto{knock.TCP}})
	if err != nil {
		t.Fatal(err)
	}
	var ps []packet
	for i, st := range seq {
		ps = append(ps, syn(at+time.Duration(i)*gap, src, hostAddr4, st.Port))
	}
	return ps
}

// runRotating replays packets through a daemon on dir's config and
// returns its stats and log.
func runRotating(t *testing.T, dir string, packets []packet) (Stats, string) {
	t.Helper()
	cfg, _ := testConfig(t, dir, readAll(t, filepath.Join(dir, "knockbeepd.toml")))
	logger, logs := testLogger(t)
	d := replay(t, cfg, Options{Logger: logger}, pcapFile(t, packets...))
	return d.Stats(), logs.String()
}

// The attacker replays a rotating door's recorded knocks: from the same
// source and from another, in the same period and the next, and after the
// daemon restarted. Only the first knock opens; every replay is refused,
// logged and counted.
func TestRotatingReplayRefused(t *testing.T) {
	if captureStart.Unix()%10 != 0 {
		t.Fatal("the test capture must start on a period boundary")
	}
	dir, key := rotatingSetup(t, 1)
	const a, b = "203.0.113.7", "198.51.100.9"
	p := periodOf(0)
	packets := concat(
		knocksFor(t, key, p, a, 1*time.Second, 100*time.Millisecond),
		knocksFor(t, key, p, a, 3*time.Second, 100*time.Millisecond),  // replay, same source
		knocksFor(t, key, p, b, 4*time.Second, 100*time.Millisecond),  // replay, another source
		knocksFor(t, key, p, b, 12*time.Second, 100*time.Millisecond), // replay, next period
	)
	st, log := runRotating(t, dir, packets)
	if got := readAll(t, filepath.Join(dir, "out")); got != a+"\n" {
		t.Errorf("the door opened for %q, want once for %s", got, a)
	}
	if st.Refused != 3 || strings.Count(log, "sequence already used (a replay)") != 3 {
		t.Errorf("refused %d, logged %d; want 3 replays refused and logged", st.Refused, strings.Count(log, "sequence already used"))
	}
	// A restart: the replay cache is on disk.
	st, _ = runRotating(t, dir, knocksFor(t, key, p, b, 6*time.Second, 100*time.Millisecond))
	if got := readAll(t, filepath.Join(dir, "out")); got != a+"\n" || st.Refused != 1 {
		t.Errorf("after a restart: opened for %q (want only the first %s), refused %d (want 1)", got, a, st.Refused)
	}
}

// A door with bind_source: each knocker opens with the sequence derived
// for its own address, also two in the same period; an observer who
// replays a knocker's sequence from its own address opens nothing (not
// even a refusal: it is not its sequence), the knocker's own replay is
// refused, and a restart keeps refusing it.
func TestRotatingBindSource(t *testing.T) {
	dir, key := rotatingSetup(t, 1)
	conf := filepath.Join(dir, "knockbeepd.toml")
	if err := os.WriteFile(conf, []byte(strings.Replace(readAll(t, conf), "skew = 1", "skew = 1\nbind_source = true", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	const alice, bob, mallory = "203.0.113.7", "198.51.100.9", "192.0.2.66"
	p := periodOf(0)
	packets := concat(
		boundKnocksFor(t, key, p, alice, alice, 1*time.Second, 100*time.Millisecond),
		boundKnocksFor(t, key, p, alice, mallory, 2*time.Second, 100*time.Millisecond), // alice's, from mallory
		boundKnocksFor(t, key, p, "", mallory, 3*time.Second, 100*time.Millisecond),    // the unbound sequence
		boundKnocksFor(t, key, p, bob, bob, 4*time.Second, 100*time.Millisecond),       // bob, same period
		boundKnocksFor(t, key, p, alice, alice, 5*time.Second, 100*time.Millisecond),   // alice's replayed
	)
	st, log := runRotating(t, dir, packets)
	if got := readAll(t, filepath.Join(dir, "out")); got != alice+"\n"+bob+"\n" {
		t.Errorf("the door opened for %q, want for %s then %s", got, alice, bob)
	}
	if st.Refused != 1 || strings.Count(log, "sequence already used (a replay)") != 1 {
		t.Errorf("refused %d; want alice's replay refused, once", st.Refused)
	}
	st, _ = runRotating(t, dir, boundKnocksFor(t, key, p, alice, alice, 6*time.Second, 100*time.Millisecond))
	if got := readAll(t, filepath.Join(dir, "out")); got != alice+"\n"+bob+"\n" || st.Refused != 1 {
		t.Errorf("after a restart: opened for %q, refused %d; want alice's replay refused", got, st.Refused)
	}
}

// --show-sequence of a bound door needs --for, and shows that knocker's.
func TestMainShowSequenceFor(t *testing.T) {
	dir, key := rotatingSetup(t, 1)
	path := filepath.Join(dir, "knockbeepd.toml")
	unbound := readAll(t, path)
	var stdout, stderr strings.Builder
	if status := Main(context.Background(), []string{"-c", path, "--show-sequence", "rot", "--for", "203.0.113.7"}, &stdout, &stderr, nil); status != ExitConfig ||
		!strings.Contains(stderr.String(), "bind_source = false") {
		t.Errorf("--for on an unbound door: status %d, %q", status, stderr.String())
	}
	if err := os.WriteFile(path, []byte(strings.Replace(unbound, "skew = 1", "skew = 1\nbind_source = true", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	if status := Main(context.Background(), []string{"-c", path, "--show-sequence", "rot"}, &stdout, &stderr, nil); status != ExitConfig ||
		!strings.Contains(stderr.String(), "give --for ADDR") {
		t.Errorf("a bound door without --for: status %d, %q", status, stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	before := time.Now()
	if status := Main(context.Background(), []string{"-c", path, "--show-sequence", "rot", "--for", "203.0.113.7"}, &stdout, &stderr, nil); status != ExitOK {
		t.Fatalf("status %d: %s", status, stderr.String())
	}
	after := time.Now()
	ok := false
	for _, at := range []time.Time{before, after} {
		seq, _ := portlang.Sequence(key, portlang.Params{Purpose: portlang.PurposeDoor, Name: "rot", Period: portlang.PeriodAt(at, 10*time.Second),
			Source: netip.MustParseAddr("203.0.113.7")}, portlang.Shape{Length: 4, Lo: 20000, Hi: 32767, Protos: []knock.Proto{knock.TCP}})
		ok = ok || strings.HasPrefix(stdout.String(), "rot (key "+filepath.Join(dir, "rot.key")+", for 203.0.113.7): "+FormatSteps(seq)+"\n")
	}
	if !ok {
		t.Errorf("output %q is not 203.0.113.7's sequence", stdout.String())
	}
	if status := Main(context.Background(), []string{"-c", path, "--for", "203.0.113.7"}, &stdout, &stderr, nil); status != ExitUsage {
		t.Errorf("--for without --show-sequence: status %d, want %d", status, ExitUsage)
	}
}

// Two sources complete the same period's sequence at once: it opens for
// the first only.
func TestRotatingSamePeriodTwoSources(t *testing.T) {
	dir, key := rotatingSetup(t, 1)
	const a, b = "203.0.113.7", "198.51.100.9"
	p := periodOf(0)
	packets := interleave(knocksFor(t, key, p, a, time.Second, 100*time.Millisecond),
		knocksFor(t, key, p, b, time.Second+10*time.Millisecond, 100*time.Millisecond))
	st, _ := runRotating(t, dir, packets)
	if got := readAll(t, filepath.Join(dir, "out")); got != a+"\n" || st.Refused != 1 {
		t.Errorf("opened for %q, refused %d; want %s only, 1 refused", got, st.Refused, a)
	}
}

// Clock skew: with skew 1, a knocker one period ahead or behind opens; two
// periods off opens nothing.
func TestRotatingSkew(t *testing.T) {
	tests := []struct {
		name string
		off  int64
		open bool
	}{
		{"on time", 0, true},
		{"one period ahead", 1, true},
		{"one period behind", -1, true},
		{"two periods ahead", 2, false},
		{"two periods behind", -2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, key := rotatingSetup(t, 1)
			const a = "203.0.113.7"
			// In the middle of a period, far from either boundary.
			at := 25 * time.Second
			st, _ := runRotating(t, dir, knocksFor(t, key, periodOf(at)+tt.off, a, at, 100*time.Millisecond))
			opened := readAll(t, filepath.Join(dir, "out")) == a+"\n"
			if opened != tt.open || st.Match.Opened != map[bool]uint64{true: 1}[tt.open] {
				t.Errorf("opened %v (%d matches), want %v", opened, st.Match.Opened, tt.open)
			}
		})
	}
}

// A sequence begun at the end of its period and finished in the next
// opens, even with skew 0; one begun in the next period does not.
func TestRotatingStraddle(t *testing.T) {
	dir, key := rotatingSetup(t, 0)
	const a, b = "203.0.113.7", "198.51.100.9"
	p := periodOf(0)
	straddling := knocksFor(t, key, p, a, 9500*time.Millisecond, 300*time.Millisecond) // 9.5 s to 10.4 s
	late := knocksFor(t, key, p, b, 10100*time.Millisecond, 100*time.Millisecond)      // begun in the next period
	st, _ := runRotating(t, dir, interleave(straddling, late))
	if got := readAll(t, filepath.Join(dir, "out")); got != a+"\n" || st.Match.Opened != 1 {
		t.Errorf("opened for %q (%d matches), want only %s", got, st.Match.Opened, a)
	}
	if !captureStart.Add(10400 * time.Millisecond).After(portlang.PeriodStart(p+1, 10*time.Second)) {
		t.Fatal("the straddling knocks do not straddle")
	}
}

func concat(lists ...[]packet) []packet {
	var all []packet
	for _, l := range lists {
		all = append(all, l...)
	}
	return all
}

// --genkey writes a key file of mode 0600 that the door accepts, prints
// no part of the key, and refuses to overwrite a file.
func TestMainGenkey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.key")
	var stdout, stderr strings.Builder
	if status := Main(context.Background(), []string{"--genkey", path}, &stdout, &stderr, nil); status != ExitOK {
		t.Fatalf("status %d: %s", status, stderr.String())
	}
	key, err := portlang.ReadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := stdout.String() + stderr.String()
	if strings.Contains(strings.ToLower(out), hex.EncodeToString(key)[:8]) {
		t.Errorf("--genkey printed part of the key: %q", out)
	}
	before := readAll(t, path)
	stdout.Reset()
	stderr.Reset()
	if status := Main(context.Background(), []string{"--genkey", path}, &stdout, &stderr, nil); status != ExitFailure ||
		!strings.Contains(stderr.String(), "exists: not overwritten") {
		t.Errorf("second --genkey: status %d, %q; want a refusal", status, stderr.String())
	}
	if readAll(t, path) != before {
		t.Error("the key was overwritten")
	}
}

// --show-sequence prints the door's current sequence, as a client derives
// it, and until when it is valid; a door that does not rotate is refused.
func TestMainShowSequence(t *testing.T) {
	dir, key := rotatingSetup(t, 1)
	path := filepath.Join(dir, "knockbeepd.toml")
	var stdout, stderr strings.Builder
	before := time.Now()
	if status := Main(context.Background(), []string{"-c", path, "--show-sequence", "rot"}, &stdout, &stderr, nil); status != ExitOK {
		t.Fatalf("status %d: %s", status, stderr.String())
	}
	after := time.Now()
	var want []string
	for _, at := range []time.Time{before, after} { // the period may turn during the call
		p := portlang.PeriodAt(at, 10*time.Second)
		seq, _ := portlang.Sequence(key, portlang.Params{Purpose: portlang.PurposeDoor, Name: "rot", Period: p},
			portlang.Shape{Length: 4, Lo: 20000, Hi: 32767, Protos: []knock.Proto{knock.TCP}})
		want = append(want, "rot (key "+filepath.Join(dir, "rot.key")+"): "+FormatSteps(seq)+"\n")
	}
	if got := stdout.String(); !strings.HasPrefix(got, want[0]) && !strings.HasPrefix(got, want[1]) {
		t.Errorf("output %q, want it to start with %q", got, want[0])
	}
	if !strings.Contains(stdout.String(), "sent until") {
		t.Errorf("output does not say until when: %q", stdout.String())
	}
	stderr.Reset()
	if status := Main(context.Background(), []string{"-c", path, "--show-sequence", "nope"}, &stdout, &stderr, nil); status != ExitConfig ||
		!strings.Contains(stderr.String(), `no door "nope"`) {
		t.Errorf("unknown door: status %d, %q", status, stderr.String())
	}
}

// Key rotation: a door listing two keys opens for a sequence derived from
// either; a period's sequence opens once whichever key it came from.
func TestRotatingTwoKeys(t *testing.T) {
	dir, oldKey := rotatingSetup(t, 1)
	newFile := filepath.Join(dir, "new.key")
	if err := portlang.WriteKeyFile(newFile); err != nil {
		t.Fatal(err)
	}
	newKey, _ := portlang.ReadKeyFile(newFile)
	conf := filepath.Join(dir, "knockbeepd.toml")
	text := strings.Replace(readAll(t, conf), `secret_file = "`+dir+`/rot.key"`, `secret_file = ["`+dir+`/rot.key", "`+newFile+`"]`, 1)
	writeFile(t, conf, text)
	const a, b, c = "203.0.113.7", "198.51.100.9", "192.0.2.99"
	p := periodOf(0)
	packets := concat(
		knocksFor(t, newKey, p, a, time.Second, 100*time.Millisecond),      // the new key opens
		knocksFor(t, oldKey, p, b, 2*time.Second, 100*time.Millisecond),    // the old key, same period: used
		knocksFor(t, oldKey, p+1, c, 11*time.Second, 100*time.Millisecond), // the old key, next period: opens
	)
	st, _ := runRotating(t, dir, packets)
	if got := readAll(t, filepath.Join(dir, "out")); got != a+"\n"+c+"\n" || st.Refused != 1 {
		t.Errorf("opened for %q, refused %d; want %s and %s, 1 refused", got, st.Refused, a, c)
	}
}

// --show-sequence of a door with reply = true shows its last step as the
// UDP datagram the client must send.
func TestMainShowSequenceReply(t *testing.T) {
	dir, _ := rotatingSetup(t, 1)
	path := filepath.Join(dir, "knockbeepd.toml")
	if err := os.WriteFile(path, []byte(strings.Replace(readAll(t, path), "skew = 1", "skew = 1\nreply = true", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	if status := Main(context.Background(), []string{"-c", path, "--show-sequence", "rot"}, &stdout, &stderr, nil); status != ExitOK {
		t.Fatalf("status %d: %s", status, stderr.String())
	}
	first, _, _ := strings.Cut(stdout.String(), "\n")
	if !regexp.MustCompile(`^rot \(key [^)]+\): \d+:tcp \d+:tcp \d+:tcp \d+:udp$`).MatchString(first) {
		t.Errorf("first line %q: want three TCP steps and a UDP one", first)
	}
}

// A door with users' keys: alice and bob each open with their own key in
// one period, the log names each (never the key), alice's replay is
// refused naming her, and a user whose file is removed is refused from
// the next start (or reload) on: revocation.
func TestRotatingUserKeys(t *testing.T) {
	dir, _ := rotatingSetup(t, 1)
	users := filepath.Join(dir, "users")
	if err := os.Mkdir(users, 0o700); err != nil {
		t.Fatal(err)
	}
	alice, bob := newKeyFile(t, filepath.Join(users, "alice.key")), newKeyFile(t, filepath.Join(users, "bob.key"))
	conf := filepath.Join(dir, "knockbeepd.toml")
	writeFile(t, conf, strings.Replace(readAll(t, conf), `secret_file = "`+dir+`/rot.key"`, `user_keys = "`+users+`"`, 1))
	const a, b = "203.0.113.7", "198.51.100.9"
	p := periodOf(0)
	st, log := runRotating(t, dir, concat(
		knocksFor(t, alice, p, a, time.Second, 100*time.Millisecond),
		knocksFor(t, bob, p, b, 2*time.Second, 100*time.Millisecond),
		knocksFor(t, alice, p, b, 3*time.Second, 100*time.Millisecond), // alice's knocks replayed
	))
	if got := readAll(t, filepath.Join(dir, "out")); got != a+"\n"+b+"\n" || st.Refused != 1 {
		t.Errorf("opened for %q, refused %d; want %s (alice) and %s (bob), 1 refused", got, st.Refused, a, b)
	}
	for _, want := range []string{"msg=\"daemon: door opened\" door=rot src=" + a + " user=alice", "src=" + b + " user=bob",
		"msg=\"daemon: door not opened\" door=rot src=" + b} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, hex.EncodeToString(alice)) {
		t.Error("the log holds alice's key")
	}
	// bob revoked: his next period's knocks open nothing.
	if err := os.Remove(filepath.Join(users, "bob.key")); err != nil {
		t.Fatal(err)
	}
	st, _ = runRotating(t, dir, knocksFor(t, bob, p+1, b, 11*time.Second, 100*time.Millisecond))
	if got := readAll(t, filepath.Join(dir, "out")); got != a+"\n"+b+"\n" || st.Match.Opened != 0 {
		t.Errorf("after bob's key was removed: opened for %q, %d openings; want none", got, st.Match.Opened)
	}
}
