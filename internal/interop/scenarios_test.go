package interop

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/capture"
)

// commonScenarios are the cases where knockd 0.8 is right: both daemons
// must run exactly these commands. Each scenario's knockers take turns
// (one finishes before the next starts, or the first knocker's attempt
// outlives the others'), so that knockd's list of attempts never loses
// its head while another attempt is in progress: that defect has its own
// scenarios below.
var commonScenarios = []scenario{
	{
		name:  "a TCP sequence opens, for IPv4 and IPv6 knockers",
		doors: "[ssh]\nSequence = 7000,8000,9000\nSeq_Timeout = 5",
		knocks: timeline(
			knocks(0, x, "7000", "8000", "9000"),
			knocks(200, x6, "7000", "8000", "9000")),
		want: []string{"ssh " + x, "ssh " + x6},
	},
	{
		name:  "another door's port in the middle resets the sequence",
		doors: "[ssh]\nSequence = 7000,8000,9000\n[other]\nSequence = 6500,8500",
		knocks: timeline(
			knocks(0, x, "7000", "8500", "8000", "9000"),
			knocks(300, y, "7000", "8000", "9000")),
		want: []string{"ssh " + y},
	},
	{
		name:  "a port of no door, or a door's port with the wrong protocol, changes nothing",
		doors: "[ssh]\nSequence = 7000,8000,9000",
		knocks: timeline(
			knocks(0, x, "7000", "12345", "8000", "9000"),
			knocks(300, y, "7000", "8000:udp", "8000", "9000:udp", "9000")),
		want: []string{"ssh " + x, "ssh " + y},
	},
	{
		name:  "the sequence timeout runs from the first knock, and checks happen when the next knock comes",
		doors: "[ssh]\nSequence = 7000,8000,9000\nSeq_Timeout = 2",
		knocks: timeline(
			// Each gap is under 2 s, the whole over it: no opening;
			// the late 9000 is not a first knock, so it starts
			// nothing either.
			one(k(0, x, "7000"), k(1000, x, "8000"), k(2600, x, "9000")),
			knocks(2800, x, "7000", "8000", "9000")),
		want: []string{"ssh " + x},
	},
	{
		name: "TCPFlags: a packet with the wrong flags is ignored, neither a step nor a reset",
		doors: "[syn]\nSequence = 7100,7200\nTCPFlags = syn,!ack\n" +
			"[anyflags]\nSequence = 7300,7400",
		knocks: timeline(
			one(k(0, x, "7100"), k(20, x, "7200", knock.SYN, knock.ACK), k(40, x, "7200")),
			// A SYN-ACK does not start the door.
			one(k(200, y, "7100", knock.SYN, knock.ACK), k(220, y, "7200")),
			one(k(400, z, "7100"), k(420, z, "7200", knock.RST), k(440, z, "7200")),
			// Without TCPFlags any TCP packet is a knock.
			one(k(600, w, "7300", knock.ACK), k(620, w, "7400", knock.FIN, knock.ACK))),
		want: []string{"syn " + x, "syn " + z, "anyflags " + w},
	},
	{
		name:  "UDP steps; TCP and UDP on one port are different knocks",
		doors: "[mixed]\nSequence = 7500:udp,7600:udp,7700",
		knocks: timeline(
			knocks(0, x, "7500:udp", "7600:udp", "7700"),
			knocks(200, y, "7500", "7500:udp", "7600:udp", "7700:udp", "7700")),
		want: []string{"mixed " + x, "mixed " + y},
	},
	{
		name:  "a sequence may repeat a port, and then the repeat must be sent exactly",
		doors: "[rep]\nSequence = 7800,7800,7801",
		knocks: timeline(
			knocks(0, x, "7800", "7800", "7801"),
			knocks(200, y, "7800", "7801"),
			knocks(400, z, "7800", "7800", "7800", "7801")),
		want: []string{"rep " + x},
	},
	{
		name: "several doors start on one packet; one packet opens two one-port doors",
		doors: "[a]\nSequence = 7000,8000\n[c]\nSequence = 7000,9000\n" +
			"[bell1]\nSequence = 6000\n[bell2]\nSequence = 6000",
		knocks: timeline(
			knocks(0, x, "7000", "9000"),
			knocks(200, y, "7000", "8000"),
			knocks(400, w, "6000")),
		want: []string{"c " + x, "a " + y, "bell1 " + w, "bell2 " + w},
	},
	{
		name:  "a one-port door without a stop command runs its command on every knock",
		doors: "[bell]\nSequence = 6100",
		knocks: timeline(
			knocks(0, x, "6100", "6100", "6100"),
			knocks(200, y, "6100")),
		want: []string{"bell " + x, "bell " + x, "bell " + x, "bell " + y},
	},
	{
		// Debian's knockd.conf: the last knock of openSSH is the first
		// of closeSSH. Closing right after opening must work.
		name:  "closing right after opening, with a door whose first port ends the other",
		doors: "[openSSH]\nSequence = 7000,8000,9000\nSeq_Timeout = 5\n[closeSSH]\nSequence = 9000,8000,7000\nSeq_Timeout = 5",
		knocks: timeline(
			knocks(0, x, "7000", "8000", "9000"),
			knocks(300, x, "9000", "8000", "7000")),
		want: []string{"openSSH " + x, "closeSSH " + x},
	},
	{
		// A source with an attempt in progress has its packets go to
		// that attempt only: 8000 resets a and starts nothing, 8001
		// is no first step; the second try at b opens it.
		name:  "a knock that resets an attempt starts no door, not even one it begins",
		doors: "[a]\nSequence = 7000,7001,7002\n[b]\nSequence = 8000,8001",
		knocks: timeline(
			knocks(0, x, "7000", "8000", "8001"),
			knocks(200, x, "8000", "8001")),
		want: []string{"b " + x},
	},
	{
		name:   "a knock that completes a door does not also ring a one-port door",
		doors:  "[long]\nSequence = 7000,9000\n[bell]\nSequence = 9000",
		knocks: knocks(0, x, "7000", "9000", "9000"),
		want:   []string{"long " + x, "bell " + x},
	},
	{
		// The ACK is ignored by syn's attempt, which takes it all the
		// same: it does not start anyflags, although anyflags would
		// accept it.
		name: "a knock an attempt ignores for its TCP flags starts no door",
		doors: "[syn]\nSequence = 7100,7200\nTCPFlags = syn\n" +
			"[anyflags]\nSequence = 7300,7400",
		knocks: one(k(0, x, "7100"), k(20, x, "7300", knock.ACK), k(40, x, "7400"),
			k(200, x, "7300"), k(220, x, "7400")),
		want: []string{"anyflags " + x},
	},
	{
		name:  "several knockers interleaved, the first one finishing last",
		doors: "[ssh]\nSequence = 7000,8000,9000",
		knocks: timeline(
			one(k(0, x, "7000")),
			knocks(20, y, "7000", "8000", "9000"),
			knocks(200, x6, "7000", "8000", "9000"),
			one(k(400, x, "8000"), k(420, x, "9000"))),
		want: []string{"ssh " + y, "ssh " + x6, "ssh " + x},
	},
}

// The cases where knockd is wrong, or where knockbeepd decides otherwise
// on purpose: each has a test of its own (parity_linux_test.go) and a
// section of docs/knockd-differences.md named by knockdBug.
var (
	crossSourceWipe = scenario{
		name:  "cross-source wipe",
		doors: "[ssh]\nSequence = 7000,8000",
		knocks: timeline(
			one(k(0, x, "7000"), k(20, y, "7000")),
			one(k(40, x, "8000"), k(60, y, "8000"))),
		want:      []string{"ssh " + x, "ssh " + y},
		knockdBug: "cross-source wipe",
		knockd:    []string{"ssh " + x},
	}
	scannerDeniesEveryone = scenario{
		name:  "a scanner on the first port denies a knocker",
		doors: "[ssh]\nSequence = 7000,8000,9000\nSeq_Timeout = 2",
		// knockd counts whole seconds: the scanner knocks at .1 s
		// into second S, the knocker starts in S+1 (1 whole second
		// later: the scanner's attempt lives on) and ends in S+2,
		// when the scanner's attempt, the oldest, has timed out. The
		// knocker's own attempt is a second old.
		align: 100 * time.Millisecond,
		knocks: timeline(
			one(k(0, scanner, "7000")),
			one(k(1200, x, "7000"), k(1220, x, "8000"), k(2200, x, "9000"))),
		want:      []string{"ssh " + x},
		knockdBug: "cross-source wipe",
		knockd:    nil,
	}
	prefixDoor = scenario{
		name:      "prefix doors",
		doors:     "[short]\nSequence = 7000,8000\n[long]\nSequence = 7000,8000,9000",
		knocks:    knocks(0, x, "7000", "8000", "9000"),
		want:      []string{"short " + x, "long " + x},
		knockdBug: "prefix doors",
		knockd:    []string{"short " + x},
	}
	commandOrder = scenario{
		name: "command order",
		// The first knocker's command is slow: knockd runs commands
		// side by side, knockbeepd one door's commands in knock order.
		doors: "[bell]\nSequence = 6100\n" +
			"Start_Command = case %IP% in " + x + ") sleep 0.5;; esac; echo \"bell %IP%\" >> " + openedFile,
		knocks:    one(k(0, x, "6100"), k(50, y, "6100")),
		ordered:   true,
		settle:    time.Second,
		want:      []string{"bell " + x, "bell " + y},
		knockdBug: "command order",
		knockd:    []string{"bell " + y, "bell " + x},
	}
	interfaceAny = scenario{
		name:      "Interface = any",
		options:   "Interface = any",
		doors:     "[ssh]\nSequence = 7000,8000",
		knocks:    knocks(0, x, "7000", "8000"),
		want:      []string{"ssh " + x},
		knockdBug: "Interface = any",
		knockd:    nil,
	}
	oneTimeUsedUp = scenario{
		name:  "one-time sequences used up",
		doors: "[once]\nOne_Time_Sequences = sequences\nSeq_Timeout = 5\n[bell]\nSequence = 6100",
		files: map[string]string{"sequences": "7000,8000\n"},
		knocks: timeline(
			knocks(0, x, "7000", "8000"),
			// The file is used up: the door must close, the
			// daemon must go on serving the others.
			knocks(400, x, "7000", "8000"),
			one(k(600, y, "6100"))),
		settle:    500 * time.Millisecond,
		want:      []string{"once " + x, "bell " + y},
		knockdBug: "one-time sequences used up",
		knockd:    []string{"once " + x},
	}
	reopen = scenario{
		name: "duplicate openings",
		doors: "[ssh]\nSequence = 7000,8000\nCmd_Timeout = 1\n" +
			"Start_Command = echo \"ssh %IP%\" >> " + openedFile + "\n" +
			"Stop_Command = echo \"ssh-stop %IP%\" >> " + openedFile,
		knocks: timeline(
			knocks(0, x, "7000", "8000"),
			knocks(200, x, "7000", "8000")),
		settle:    1500 * time.Millisecond,
		want:      []string{"ssh " + x, "ssh-stop " + x},
		knockdBug: "duplicate openings",
		knockd:    []string{"ssh " + x, "ssh " + x, "ssh-stop " + x, "ssh-stop " + x},
	}
	wholeSeconds = scenario{
		name:  "timeouts in whole seconds",
		doors: "[ssh]\nSequence = 7000,8000\nSeq_Timeout = 2",
		// 1.5 s apart, but the first knock is at .7 s into a second
		// and the last at .2 s two seconds later: 2 whole seconds.
		align:     700 * time.Millisecond,
		knocks:    one(k(0, x, "7000"), k(1500, x, "8000")),
		want:      []string{"ssh " + x},
		knockdBug: "timeouts in whole seconds",
		knockd:    nil,
	}
	environment = scenario{
		name: "command environment",
		doors: "[env]\nSequence = 6300\n" +
			"Start_Command = if [ -n \"$" + envMark + "\" ]; then echo \"env inherited\"; else echo \"env clean\"; fi >> " + openedFile,
		knocks:    one(k(0, x, "6300")),
		want:      []string{"env clean"},
		knockdBug: "command environment",
		knockd:    []string{"env inherited"},
	}
)

// differingScenarios are the scenarios where knockd is expected to run
// other commands than knockbeepd.
var differingScenarios = []scenario{
	crossSourceWipe, scannerDeniesEveryone, prefixDoor, commandOrder, interfaceAny,
	oneTimeUsedUp, reopen, wholeSeconds, environment,
}

// TestScenarioTables checks the scenarios themselves: names are unique, a
// scenario that names a knockd defect expects knockd to differ, and every
// knock is in time order.
func TestScenarioTables(t *testing.T) {
	seen := map[string]bool{}
	for _, sc := range slices.Concat(commonScenarios, differingScenarios) {
		if seen[sc.name] {
			t.Errorf("two scenarios are named %q", sc.name)
		}
		seen[sc.name] = true
		if sc.knockdBug != "" && slices.Equal(sc.outcome(sc.want), sc.outcome(sc.knockd)) {
			t.Errorf("scenario %q names knockd defect %q but expects the same commands from both daemons", sc.name, sc.knockdBug)
		}
		if !slices.IsSortedFunc(sc.knocks, func(a, b knockPacket) int { return int(a.at - b.at) }) {
			t.Errorf("scenario %q: knocks out of time order", sc.name)
		}
		if len(sc.want) == 0 && len(sc.knockdWant()) == 0 {
			t.Errorf("scenario %q: neither daemon runs a command: nothing shows that the knocks arrived", sc.name)
		}
	}
}

// TestScenarioPcap checks the packets the scenarios send: written to a
// pcap file and replayed through knockbeep's own capture, every knock
// decodes to the event it stands for, at its time.
func TestScenarioPcap(t *testing.T) {
	for _, sc := range slices.Concat(commonScenarios, differingScenarios) {
		t.Run(sc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "knocks.pcap")
			base := replayBase.Add(sc.align)
			if err := writePcap(path, base, sc.knocks); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var filter capture.Filter
			for _, p := range sc.knocks {
				filter.Rules = append(filter.Rules, capture.Rule{Proto: p.proto, Port: p.port})
			}
			var got []string
			if _, err := capture.Replay(context.Background(), f, filter, func(ev *knock.Event) {
				got = append(got, eventLine(ev.Time.Sub(base), ev.Src, ev.Dst, ev.Proto, ev.Port, ev.Flags))
			}); err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, p := range sc.knocks {
				dst := srv4
				if p.src.Is6() {
					dst = srv6
				}
				want = append(want, eventLine(p.at, p.src, dst, p.proto, p.port, p.flags))
			}
			if d := diffLines(want, got); d != "" {
				t.Errorf("replayed events %s", d)
			}
		})
	}
}

func eventLine(at time.Duration, src, dst netip.Addr, proto knock.Proto, port uint16, flags knock.TCPFlags) string {
	return fmt.Sprintf("%v %v>%v %v/%d flags=%#x", at, src, dst, proto, port, flags)
}

// TestReplayScenarios gives every scenario to knockbeepd --replay as a
// pcap file: it must run the commands knockbeepd runs live. This needs no
// privilege; the live runs against knockd are in parity_linux_test.go.
func TestReplayScenarios(t *testing.T) {
	for _, sc := range slices.Concat(commonScenarios, differingScenarios) {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			if d := diffLines(sc.outcome(sc.want), sc.outcome(runReplay(t, sc))); d != "" {
				t.Errorf("knockbeepd --replay ran other commands %s", d)
			}
		})
	}
}

// TestConfText pins the knockd.conf a scenario makes: the commands added
// to doors without one, and the options.
func TestConfText(t *testing.T) {
	sc := scenario{name: "example", doors: "[a]\nSequence = 1,2\n[b]\nSequence = 3\nStart_Command = true"}
	want := strings.Join([]string{
		"# example",
		"[options]",
		"\tInterface = " + srvIf,
		"[a]",
		"\tSequence = 1,2",
		"\tStart_Command = echo \"a %IP%\" >> " + openedFile,
		"[b]",
		"\tSequence = 3",
		"\tStart_Command = true",
		"",
	}, "\n")
	if got := sc.conf(); got != want {
		t.Errorf("conf (-want +got):\n-%s\n+%s", want, got)
	}
}
