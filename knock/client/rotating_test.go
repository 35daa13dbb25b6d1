package client

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/message"
	"github.com/knockbeep/knockbeep/knock/portlang"
	"github.com/knockbeep/knockbeep/knock/reply"
	"github.com/knockbeep/knockbeep/sequence"
	"github.com/knockbeep/knockbeep/songs"
)

// A rotating door's --dry-run prints the sequence of the period of the
// client's clock, plus --time-offset, as the port language derives it
// from the key, the door's name and its shape.
func TestRotatingDryRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "door.key")
	if err := portlang.WriteKeyFile(path); err != nil {
		t.Fatal(err)
	}
	key, _ := portlang.ReadKeyFile(path)
	const now = 1_000_000 // runKnock's clock
	tests := []struct {
		name   string
		args   []string
		period int64
		shape  portlang.Shape
	}{
		{"defaults", nil, now / 30, portlang.Shape{Length: 4, Lo: 20000, Hi: 32767, Protos: []knock.Proto{knock.TCP}}},
		{"clock behind by 45s", []string{"--time-offset", "-45s"}, (now - 45) / 30, portlang.Shape{Length: 4, Lo: 20000, Hi: 32767, Protos: []knock.Proto{knock.TCP}}},
		{"the door's shape", []string{"--period", "2s", "--length", "6", "--port-range", "30000-30099", "--protocols", "udp,tcp"}, now / 2,
			portlang.Shape{Length: 6, Lo: 30000, Hi: 30099, Protos: []knock.Proto{knock.TCP, knock.UDP}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--secret-file", path, "--door", "ssh", "--dry-run"}, tt.args...)
			got := runKnock(t, false, args...)
			if got.status != ExitOK {
				t.Fatalf("status %d: %s", got.status, got.stderr)
			}
			seq, err := portlang.Sequence(key, portlang.Params{Purpose: portlang.PurposeDoor, Name: "ssh", Period: tt.period}, tt.shape)
			if err != nil {
				t.Fatal(err)
			}
			var ports []string
			for _, st := range seq {
				ports = append(ports, fmt.Sprintf("%d:%s", st.Port, st.Proto))
			}
			per := map[bool]time.Duration{true: 2 * time.Second, false: 30 * time.Second}[tt.name == "the door's shape"]
			end := portlang.PeriodStart(tt.period+1, per).UTC().Format(time.RFC3339)
			want := fmt.Sprintf("door ssh, period %d (until %s): %s\n", tt.period, end, strings.Join(ports, " "))
			if got.stdout != want {
				t.Errorf("stdout (-want +got):\n-%s+%s", want, got.stdout)
			}
			if got.stderr != "" {
				t.Errorf("stderr: %s", got.stderr)
			}
		})
	}
}

// A key file others may read is refused, naming the file, and nothing is
// sent.
func TestRotatingOpenKeyFile(t *testing.T) {
	path := writeFile(t, "open.key", strings.Repeat("ab", 32)+"\n") // mode 0644
	got := runKnock(t, false, "--secret-file", path, "--door", "ssh", "127.0.0.1")
	if got.status != ExitUsage || !strings.Contains(got.stderr, "key file "+path+": mode 0644 lets group or others read") {
		t.Errorf("status %d, stderr %q; want a refusal naming the file", got.status, got.stderr)
	}
}

// For a door with bind_source the sequence is derived for the knocker's
// address: the one --source-address gives, or the address this computer
// sends from to reach HOST (127.0.0.1 for a loopback HOST).
func TestRotatingBindSource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "door.key")
	if err := portlang.WriteKeyFile(path); err != nil {
		t.Fatal(err)
	}
	key, _ := portlang.ReadKeyFile(path)
	const period = 1_000_000 / 30 // runKnock's clock
	shape := portlang.Shape{Length: 4, Lo: 20000, Hi: 32767, Protos: []knock.Proto{knock.TCP}}
	want := func(src string) string {
		p := portlang.Params{Purpose: portlang.PurposeDoor, Name: "ssh", Period: period}
		if src != "" {
			p.Source = netip.MustParseAddr(src)
		}
		seq, _ := portlang.Sequence(key, p, shape)
		var ports []string
		for _, st := range seq {
			ports = append(ports, fmt.Sprintf("%d:%s", st.Port, st.Proto))
		}
		end := portlang.PeriodStart(period+1, 30*time.Second).UTC().Format(time.RFC3339)
		forWhom := ""
		if src != "" {
			forWhom = ", for " + src
		}
		return fmt.Sprintf("door ssh, period %d (until %s)%s: %s\n", period, end, forWhom, strings.Join(ports, " "))
	}
	tests := []struct {
		name   string
		args   []string
		status int
		out    string // stdout, or a part of stderr when status is not ExitOK
	}{
		{"given address", []string{"--source-address", "203.0.113.5"}, ExitOK, want("203.0.113.5")},
		{"given IPv6 address", []string{"--source-address", "2001:db8::5"}, ExitOK, want("2001:db8::5")},
		{"the route's source", []string{"--bind-source", "127.0.0.1"}, ExitOK, want("127.0.0.1")},
		{"unbound differs", []string{"127.0.0.1"}, ExitOK, want("")},
		{"no HOST to find the address", []string{"--bind-source"}, ExitUsage, "give HOST, or --source-address ADDR"},
		{"a bad address", []string{"--source-address", "my-laptop"}, ExitUsage, "--source-address"},
		{"unspecified address", []string{"--source-address", "0.0.0.0"}, ExitUsage, "--source-address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--secret-file", path, "--door", "ssh", "--dry-run"}, tt.args...)
			got := runKnock(t, false, args...)
			if got.status != tt.status {
				t.Fatalf("status %d, want %d: %s", got.status, tt.status, got.stderr)
			}
			if tt.status == ExitOK && got.stdout != tt.out {
				t.Errorf("stdout (-want +got):\n-%s+%s", tt.out, got.stdout)
			}
			if tt.status != ExitOK && !strings.Contains(got.stderr, tt.out) {
				t.Errorf("stderr %q does not say %q", got.stderr, tt.out)
			}
		})
	}
	if want("203.0.113.5") == want("198.51.100.9") {
		t.Error("two sources got the same sequence")
	}
}

func TestBindSourceNeedsSecretFile(t *testing.T) {
	got := runKnock(t, false, "--bind-source", "127.0.0.1", "7000")
	if got.status != ExitUsage || !strings.Contains(got.stderr, "--bind-source only applies with --secret-file") {
		t.Errorf("status %d, stderr %q", got.status, got.stderr)
	}
}

// --message sends a text to a message door: --dry-run prints the knocks
// of the text under the door's code for the period (package message's
// encoding), with the parity asked for; what cannot be sent is refused
// before anything is.
func TestMessageDryRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify.key")
	if err := portlang.WriteKeyFile(path); err != nil {
		t.Fatal(err)
	}
	key, _ := portlang.ReadKeyFile(path)
	const period = 1_000_000 / 30 // runKnock's clock
	shape := portlang.Shape{Lo: 20000, Hi: 32767, Protos: []knock.Proto{knock.TCP}}
	code, err := message.NewCode(key, "notify", period, shape)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		status int
		parity int
		want   string // a part of stderr when status is not ExitOK
	}{
		{"default parity", []string{"--message", "deploy v1.2 ✓"}, ExitOK, DefaultParity, ""},
		{"no parity", []string{"--message", "deploy v1.2 ✓", "--parity", "0"}, ExitOK, 0, ""},
		{"invalid UTF-8", []string{"--message", "bad \xff"}, ExitUsage, 0, "not valid UTF-8"},
		{"empty", []string{"--message", ""}, ExitUsage, 0, "is empty"},
		{"too long for the range", []string{"--message", strings.Repeat("a", 400)}, ExitUsage, 0, "carries at most"},
		{"parity without a message", []string{"--parity", "2"}, ExitUsage, 0, "--parity goes with --message"},
		{"parity out of bounds", []string{"--message", "x", "--parity", "65"}, ExitUsage, 0, "0 to 64"},
		{"bound", []string{"--message", "x", "--bind-source", "127.0.0.1"}, ExitUsage, 0, "leave out --bind-source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--secret-file", path, "--door", "notify", "--dry-run"}, tt.args...)
			got := runKnock(t, false, args...)
			if got.status != tt.status {
				t.Fatalf("status %d, want %d: %s", got.status, tt.status, got.stderr)
			}
			if tt.status != ExitOK {
				if !strings.Contains(got.stderr, tt.want) {
					t.Errorf("stderr %q does not say %q", got.stderr, tt.want)
				}
				return
			}
			steps, err := code.Encode([]byte("deploy v1.2 ✓"), tt.parity)
			if err != nil {
				t.Fatal(err)
			}
			var ports []string
			for _, st := range steps {
				ports = append(ports, fmt.Sprintf("%d:%s", st.Port, st.Proto))
			}
			end := portlang.PeriodStart(period+1, 30*time.Second).UTC().Format(time.RFC3339)
			want := fmt.Sprintf("door notify, period %d (until %s), message of %d bytes in %d knocks (%d parity): %s\n",
				period, end, len("deploy v1.2 ✓"), len(steps), tt.parity, strings.Join(ports, " "))
			if got.stdout != want {
				t.Errorf("stdout (-want +got):\n-%s+%s", want, got.stdout)
			}
		})
	}
}

// knock --wait takes only an authentic answer for its own knock: a
// forged datagram (no key), an answer of another period or from another
// address is ignored; an opening answer exits 0 and a refusal
// ExitRefused; without an authentic answer it gives up at --wait-timeout
// with ExitNoReply.
func TestWaitForReply(t *testing.T) {
	path := filepath.Join(t.TempDir(), "answer.key")
	if err := portlang.WriteKeyFile(path); err != nil {
		t.Fatal(err)
	}
	key, _ := portlang.ReadKeyFile(path)
	const period = 1_000_000 / 30 // runKnock's clock
	seq, err := portlang.Sequence(key, portlang.Params{Purpose: portlang.PurposeDoor, Name: "answer", Period: period},
		portlang.Shape{Length: 1, Lo: 20000, Hi: 20099, Protos: []knock.Proto{knock.TCP}})
	if err != nil {
		t.Fatal(err)
	}
	genuine := func(s reply.Status) []byte {
		b, _ := reply.Encode(key, "answer", reply.Reply{Status: s, Until: time.Unix(2_000_000, 0), Period: period})
		return b
	}
	forged, _ := reply.Encode(bytes.Repeat([]byte{1}, 32), "answer", reply.Reply{Status: reply.Opened, Period: period})
	old, _ := reply.Encode(key, "answer", reply.Reply{Status: reply.Opened, Period: period - 1})
	tests := []struct {
		name    string
		answers [][]byte
		status  int
		out     string
	}{
		{"opened", [][]byte{forged, old, genuine(reply.Opened)}, ExitOK, "door answer opened until 1970-01-24T03:33:20Z\n"},
		{"refused", [][]byte{genuine(reply.Refused)}, ExitRefused, "door answer refused the knock"},
		{"only forgeries", [][]byte{forged, old}, ExitNoReply, "no answer from door answer within 300ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			door, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(seq[0].Port)})
			if err != nil {
				t.Skipf("the door's port %d is taken here: %v", seq[0].Port, err)
			}
			defer door.Close()
			go func() {
				buf := make([]byte, 64)
				_, client, err := door.ReadFromUDPAddrPort(buf)
				if err != nil {
					return
				}
				for _, a := range tt.answers {
					door.WriteToUDPAddrPort(a, client)
				}
			}()
			got := runKnock(t, false, "--secret-file", path, "--door", "answer", "--length", "1", "--port-range", "20000-20099",
				"--wait", "--wait-timeout", "300ms", "127.0.0.1")
			if got.status != tt.status || !strings.Contains(got.stdout+got.stderr, tt.out) {
				t.Errorf("status %d, %q; want %d and %q", got.status, got.stdout+got.stderr, tt.status, tt.out)
			}
		})
	}
}

// --song under the music doors' secret: --dry-run prints the summary,
// then the knocks of the song's packed knocks under the music doors' code
// for the period (default range, default parity), then the beep arguments
// it will play as.
func TestSecretSongDryRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "music.key")
	if err := portlang.WriteKeyFile(path); err != nil {
		t.Fatal(err)
	}
	key, _ := portlang.ReadKeyFile(path)
	const period = 1_000_000 / 30 // runKnock's clock
	song, err := songs.Load("imperial-march")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := sequence.Compose(song.Tones, sequence.DefaultProtocol(), sequence.ComposeOptions{Notes: true})
	if err != nil {
		t.Fatal(err)
	}
	packed, err := sequence.PackKnocks(plan.Knocks)
	if err != nil {
		t.Fatal(err)
	}
	code, err := message.NewSongCode(key, period, portlang.Shape{Lo: 20000, Hi: 32767, Protos: []knock.Proto{knock.TCP}})
	if err != nil {
		t.Fatal(err)
	}
	steps, err := code.Encode(packed, DefaultParity)
	if err != nil {
		t.Fatal(err)
	}
	var ports []string
	for _, st := range steps {
		ports = append(ports, fmt.Sprintf("%d:%s", st.Port, st.Proto))
	}
	got := runKnock(t, false, "--secret-file", path, "--song", "imperial-march", "--notes", "--dry-run", "h")
	wantStart := fmt.Sprintf("song %q under the secret, period %d: %d song knocks packed into %d bytes, sent as %d knocks (%d parity); ",
		song.Name, period, len(plan.Knocks), len(packed), len(steps), DefaultParity)
	wantRest := strings.Join(ports, " ") + "\nbeep " + sequence.FormatBeepArgs(plan.Expected()) + "\n"
	if got.status != ExitOK || !strings.HasPrefix(got.stdout, wantStart) || !strings.HasSuffix(got.stdout, wantRest) {
		t.Errorf("status %d, stdout:\n%s\nwant it to begin %q and end with the knocks and beep arguments:\n%s", got.status, got.stdout, wantStart, wantRest)
	}
	if len(steps) > 300 {
		t.Errorf("the Imperial March with --notes takes %d knocks under the secret, want at most 300", len(steps))
	}
}
