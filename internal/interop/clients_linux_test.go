//go:build linux

package interop

import (
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/send/sendtest"
)

// clientDoors are the doors the clients knock in these tests.
const clientDoors = `
[tcp]
Sequence = 7000,8000,9000
[udpsteps]
Sequence = 7100:udp,7200,7300:udp
[alludp]
Sequence = 7400:udp,7500:udp
[slow]
Sequence = 7600,7700,7800
Seq_Timeout = 5
`

// A clientCase is one knock command line, with HOST4 or HOST6 standing
// for the server's address, and the line the door it opens writes, with
// CLI for the client's address ("" when no door must open).
type clientCase struct {
	name    string
	args    string
	want    string
	atLeast time.Duration // the client must take at least this long (-d)
}

var clientCases = []clientCase{
	{name: "TCP over IPv4", args: "HOST4 7000 8000 9000", want: "tcp CLI4"},
	{name: "TCP over IPv6 with -6", args: "-6 HOST6 7000 8000 9000", want: "tcp CLI6"},
	{name: "PORT:udp steps among TCP ones", args: "HOST4 7100:udp 7200 7300:udp", want: "udpsteps CLI4"},
	{name: "-u makes every knock UDP", args: "-u HOST4 7400 7500", want: "alludp CLI4"},
	{name: "-u over IPv6", args: "-u -6 HOST6 7400 7500", want: "alludp CLI6"},
	{name: "-d waits between knocks", args: "-d 300 HOST4 7600 7700 7800", want: "slow CLI4", atLeast: 600 * time.Millisecond},
	{name: "-4 with the steps out of order opens nothing", args: "-4 HOST4 7000 9000 8000", want: ""},
}

// expand replaces the placeholders of a clientCase's text.
func expand(s string) string {
	return strings.NewReplacer("HOST4", srv4.String(), "HOST6", srv6.String(),
		"CLI4", cli4.String(), "CLI6", cli6.String()).Replace(s)
}

// knockClients are the two clients: Debian's knock and knockbeep's.
func knockClients(t *testing.T) map[string]string {
	return map[string]string{"debian-knock": "knock", "knockbeep-knock": ourBinary(t, "knock")}
}

// TestClientsKnockDaemons runs each client command line of Debian's knock
// and of knockbeep's knock against knockd and knockbeepd at once, on one
// lab: both daemons must open the door, with the client's address. This
// is Debian's knock knocking knockbeepd and knockbeep's knock knocking
// knockd, each checked against the other pair.
func TestClientsKnockDaemons(t *testing.T) {
	needKnockd(t)
	l := newLab(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "knockd.conf")
	writeFile(t, conf, scenario{name: "clients", doors: clientDoors}.conf())
	daemons := []*daemon{
		l.startKnockd(mkdir(t, dir, "knockd"), conf),
		l.startKnockbeepd(mkdir(t, dir, "knockbeepd"), conf),
	}
	clients := knockClients(t)
	for _, client := range slices.Sorted(maps.Keys(clients)) {
		for _, tc := range clientCases {
			t.Run(client+"/"+tc.name, func(t *testing.T) {
				before := make([]int, len(daemons))
				for i, d := range daemons {
					before[i] = len(d.opened())
				}
				argv := inNetns(l.cli, append([]string{clients[client]}, strings.Fields(expand(tc.args))...)...)
				began := time.Now()
				out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
				took := time.Since(began)
				if err != nil {
					t.Fatalf("%s %s: %v\n%s", client, expand(tc.args), err, out)
				}
				if took < tc.atLeast {
					t.Errorf("%s %s took %v, want at least %v", client, expand(tc.args), took, tc.atLeast)
				}
				var want []string
				if tc.want != "" {
					want = []string{expand(tc.want)}
				}
				newLines := func(i int) []string { return daemons[i].opened()[before[i]:] }
				waitUntil(2*time.Second, func() bool {
					return len(newLines(0)) >= len(want) && len(newLines(1)) >= len(want)
				})
				time.Sleep(100 * time.Millisecond) // and nothing more
				for i, d := range daemons {
					if diff := diffLines(want, newLines(i)); diff != "" {
						t.Errorf("%s knocked %s: %s ran other commands %s", client, expand(tc.args), d.name, diff)
					}
				}
			})
		}
	}
}

// wirePacket is what a daemon can see of a knock: everything but the
// source port and the time.
type wirePacket struct {
	Src, Dst   string
	Proto      knock.Proto
	Port       uint16
	Flags      knock.TCPFlags
	PayloadLen int
}

func (p wirePacket) String() string {
	return fmt.Sprintf("%s>%s %v/%d flags=%#x payload=%d", p.Src, p.Dst, p.Proto, p.Port, p.Flags, p.PayloadLen)
}

// TestClientsPutTheSamePacketsOnTheWire captures, on the server's side,
// what Debian's knock and knockbeep's knock send for the same command
// line: exactly one packet per knock, the same packets (a SYN for TCP, a
// datagram with a 1-byte payload for UDP), in the same order.
func TestClientsPutTheSamePacketsOnTheWire(t *testing.T) {
	needKnockd(t)
	l := newLab(t)
	var tap *sendtest.Tap
	if err := l.srv.Do(func() (err error) { tap, err = sendtest.Listen(srvIf); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tap.Close() })
	clients := knockClients(t)
	for _, args := range []string{
		"HOST4 7000 8000:udp 9000",
		"-u HOST4 7400 7500 7400",
		"-6 HOST6 7100:udp 7200 7300:udp",
		"-u -6 HOST6 7400",
	} {
		t.Run(args, func(t *testing.T) {
			ports := len(strings.Fields(args)) - 1 - strings.Count(args, "-")
			sent := map[string][]wirePacket{}
			for _, client := range slices.Sorted(maps.Keys(clients)) {
				before := len(tap.Packets(nil))
				argv := inNetns(l.cli, append([]string{clients[client]}, strings.Fields(expand(args))...)...)
				if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
					t.Fatalf("%s %s: %v\n%s", client, expand(args), err, out)
				}
				// A retransmitted SYN would come a second later: wait
				// long enough to see one.
				if strings.Contains(args, "-u") {
					time.Sleep(200 * time.Millisecond)
				} else {
					time.Sleep(1200 * time.Millisecond)
				}
				for _, p := range tap.Packets(nil)[before:] {
					if p.Outgoing || (p.Src != cli4 && p.Src != cli6) {
						continue // the server's RSTs and ICMP errors
					}
					sent[client] = append(sent[client], wirePacket{Src: p.Src.String(), Dst: p.Dst.String(),
						Proto: p.Proto, Port: p.Port, Flags: p.Flags, PayloadLen: p.PayloadLen})
				}
				if len(sent[client]) != ports {
					t.Errorf("%s %s sent %d packets, want one per knock, %d: %v", client, expand(args), len(sent[client]), ports, sent[client])
				}
			}
			debian, ours := sent["debian-knock"], sent["knockbeep-knock"]
			if !slices.Equal(debian, ours) {
				t.Errorf("%s: packets (-debian knock +knockbeep knock):\n-%v\n+%v", expand(args), debian, ours)
			}
		})
	}
}
