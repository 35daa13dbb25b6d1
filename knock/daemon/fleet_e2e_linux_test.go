package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/clock"
	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/fleet"
	"github.com/knockbeep/knockbeep/knock/fleet/fleettest"
	"github.com/knockbeep/knockbeep/knock/portlang"
	"github.com/knockbeep/knockbeep/knock/send"
	"github.com/knockbeep/knockbeep/knock/send/sendtest"
)

// The fleet's daemons: each serves one node of an embedded NATS cluster
// on its own address, routed to the others. "rot" is a rotating door
// (one secret for the fleet), "ssh" a fleet door whose start command
// writes the knocker's address, "mark" a door the tests knock last. The
// rotating and message doors take two periods on either side (skew 2),
// so that a replay at another node, sent once the first node has acted,
// is still in its window on a busy machine.
const fleetE2EConfig = `
speaker = "none"
state_dir = "{{DIR}}/state"
[music]
enabled = false

[cluster]
name = "e2e"
node_key = "{{DIR}}/node.key"
trust = "{{TRUST}}"
serve = "{{ADDR}}:4222"
cluster_listen = "{{ADDR}}:6222"
routes = [{{ROUTES}}]
server_program = "{{NATSD}}"

[[door]]
name = "rot"
secret_file = "{{KEY}}"
period = "4s"
skew = 2
timeout = "3s"
port_range = "20000-29999"
start_command = ["/bin/sh", "-c", "echo %IP% >> {{DIR}}/rot.out"]

[[door]]
name = "notify"
kind = "message"
secret_file = "{{KEY}}"
period = "4s"
skew = 2
timeout = "3s"
port_range = "50000-59999"
start_command = ["/bin/sh", "-c", "printf '%s\\n' \"$1\" >> {{DIR}}/notify.out", "sh", "%MESSAGE%"]

[[door]]
name = "ssh"
sequence = "7000,7001"
fleet = true
start_command = ["/bin/sh", "-c", "echo %IP% >> {{DIR}}/ssh.out"]
stop_command = ["/bin/true"]
cmd_timeout = "1h"

[[door]]
name = "team"
fleet_users = true
period = "4s"
skew = 1
timeout = "3s"
port_range = "30000-39999"
start_command = ["/bin/sh", "-c", "echo %IP% >> {{DIR}}/team.out"]

[[door]]
name = "mark"
sequence = "7100,7101"
start_command = ["/bin/true"]
`

// fleetLab is three daemons' namespaces and a knocker's, all on one
// bridge (in a namespace of its own), 10.77.0.0/24: the knocker is .9,
// node i is .1+i.
type fleetLab struct {
	hub     *sendtest.Netns // the bridge's namespace
	nodes   []*sendtest.Netns
	knocker *sendtest.Netns
	addrs   []netip.Addr
	src     netip.Addr
	dirs    []string
	conf    []string // each node's config text
	key     string   // the rotating door's secret
}

func newFleetLab(t *testing.T) *fleetLab {
	hub := sendtest.NewNetns(t)
	hub.IP("link", "add", "br0", "type", "bridge")
	hub.IP("link", "set", "br0", "up")
	l := &fleetLab{hub: hub, knocker: sendtest.NewNetns(t), src: netip.MustParseAddr("10.77.0.9")}
	l.join(l.knocker, 9, l.src.String())
	keyDir := t.TempDir()
	l.key = filepath.Join(keyDir, "door.key")
	if err := portlang.WriteKeyFile(l.key); err != nil {
		t.Fatal(err)
	}
	var trust, routes []string
	for i := range 3 {
		ns := sendtest.NewNetns(t)
		addr := netip.MustParseAddr("10.77.0." + strconv.Itoa(1+i))
		l.join(ns, i, addr.String())
		dir := t.TempDir()
		pub, err := fleet.GenerateKeyFile(filepath.Join(dir, "node.key"), nil)
		if err != nil {
			t.Fatal(err)
		}
		trust = append(trust, fleet.PublicLine(pub)+fmt.Sprintf(" node%d", i))
		routes = append(routes, `"nats-route://`+addr.String()+`:6222"`)
		l.nodes, l.addrs, l.dirs = append(l.nodes, ns), append(l.addrs, addr), append(l.dirs, dir)
	}
	trustFile := filepath.Join(keyDir, "fleet.pub")
	writeFile(t, trustFile, strings.Join(trust, "\n")+"\n")
	for i := range 3 {
		r := strings.NewReplacer("{{TRUST}}", trustFile, "{{ADDR}}", l.addrs[i].String(),
			"{{ROUTES}}", strings.Join(routes, ", "), "{{KEY}}", l.key, "{{NATSD}}", fleettest.ServerProgram(t))
		l.conf = append(l.conf, r.Replace(fleetE2EConfig))
	}
	return l
}

// join puts ns on the lab's bridge at addr, through the bridge's port n.
func (l *fleetLab) join(ns *sendtest.Netns, n int, addr string) {
	port := "port" + strconv.Itoa(n)
	ns.IP("link", "add", "wire", "type", "veth", "peer", "name", port, "netns", l.hub.Name())
	ns.IP("addr", "add", addr+"/24", "dev", "wire")
	ns.IP("link", "set", "wire", "up")
	ns.IP("link", "set", "lo", "up")
	l.hub.IP("link", "set", port, "master", "br0")
	l.hub.IP("link", "set", port, "up")
}

// replayRefusedAtBAndC sends the rotating door's knocks A took to B and
// to C, at once (the sequence stays in the door's window for only a few
// seconds), and checks that both refuse them as used in the fleet.
func (l *fleetLab) replayRefusedAtBAndC(t *testing.T, ds []*daemonProc, first []send.Target) {
	t.Helper()
	knockPorts(t, l.knocker, l.addrs[1], first...)
	knockPorts(t, l.knocker, l.addrs[2], first...)
	for _, i := range []int{1, 2} {
		waitLogged(t, ds[i], "daemon: door not opened", "used at another node of the fleet")
		if n := ds[i].count("daemon: door opened", "rot"); n != 0 {
			t.Errorf("the replay at node %c opened its door %d times", 'A'+i, n)
		}
	}
}

// start starts node i's daemon.
func (l *fleetLab) start(t *testing.T, i int) *daemonProc {
	return startDaemonIn(t, l.nodes[i], l.dirs[i], l.conf[i])
}

// startAll starts the three nodes' daemons and waits until each has
// joined the fleet.
func (l *fleetLab) startAll(t *testing.T) []*daemonProc {
	t.Helper()
	var ds []*daemonProc
	for i := range 3 {
		ds = append(ds, l.start(t, i))
	}
	for _, d := range ds {
		joined(t, d)
	}
	return ds
}

// joined waits until d has set up the fleet's streams: a fleet whose
// three servers must first elect leaders takes seconds, more on a busy
// machine.
func joined(t *testing.T, d *daemonProc) {
	t.Helper()
	d.waitLog(fleetJoined, 90*time.Second)
}

// knockRot knocks the rotating door at node i with knock --secret-file
// and returns the knocks it sent.
func (l *fleetLab) knockRot(t *testing.T, i int) []send.Target {
	t.Helper()
	return l.knockRotating(t, i, l.key, "rot", "20000-29999")
}

// knockRotating knocks a rotating door at node i with a key.
func (l *fleetLab) knockRotating(t *testing.T, i int, key, door, ports string) []send.Target {
	t.Helper()
	sent, stdout := runKnockIn(t, l.knocker, clock.System(),
		[]string{"-v", "--secret-file", key, "--door", door, "--period", "4s", "--port-range", ports, l.addrs[i].String()})
	if len(sent) != 4 {
		t.Fatalf("knock sent %d knocks, want 4:\n%s", len(sent), stdout)
	}
	return sent
}

// auditVerify runs knockbeepd --audit-verify with node i's config in
// node i's namespace, as an operator on that host would.
func (l *fleetLab) auditVerify(t *testing.T, i int) (int, string) {
	t.Helper()
	return l.cli(t, i, "--audit-verify")
}

// cli runs knockbeepd with node i's config and args in node i's
// namespace, and returns its exit status and output.
func (l *fleetLab) cli(t *testing.T, i int, args ...string) (int, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.nodes[i].Name(), exe, "-c", filepath.Join(l.dirs[i], "knockbeepd.toml")}, args...)...)
	cmd.Env = append(os.Environ(), daemonEnv+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout.String() + stderr.String()
	case err != nil:
		t.Fatal(err)
	}
	return 0, stdout.String() + stderr.String()
}

// sendMessage sends text to node i's message door with knock --message
// and returns the knocks it sent.
func (l *fleetLab) sendMessage(t *testing.T, i int, text string) []send.Target {
	t.Helper()
	sent, stdout := runKnockIn(t, l.knocker, clock.System(), []string{"-v", "--secret-file", l.key, "--door", "notify",
		"--period", "4s", "--port-range", "50000-59999", "--message", text, l.addrs[i].String()})
	if len(sent) == 0 {
		t.Fatalf("knock --message sent no knocks:\n%s", stdout)
	}
	return sent
}

// waitLogged waits until d has logged msg with a reason containing
// reason.
func waitLogged(t *testing.T, d *daemonProc, msg, reason string) {
	t.Helper()
	logged := func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, rec := range d.lines {
			if r, _ := rec["reason"].(string); rec["msg"] == msg && strings.Contains(r, reason) {
				return true
			}
		}
		return false
	}
	for deadline := time.Now().Add(30 * time.Second); !logged(); {
		if time.Now().After(deadline) {
			t.Fatalf("no %q with a reason holding %q in 30s", msg, reason)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitCount waits until d has logged msg for door at least n times.
func waitCount(t *testing.T, d *daemonProc, msg, door string, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for d.count(msg, door) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%q for door %q logged %d times in %v, want %d", msg, door, d.count(msg, door), within, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLines waits until path holds want, for a generous while: an
// opening crosses the cluster before it is applied.
func waitLines(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if string(b) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %q, want %q", path, b, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Three daemons in three namespaces, each serving one node of an
// embedded NATS cluster: a rotating sequence used at A and replayed at B
// and C is refused at both; a fleet door knocked at A opens at A, B and C for the
// knocker; and with the cluster gone (B and C stopped, A without a
// quorum), A still opens its doors alone.
func TestFleetEndToEnd(t *testing.T) {
	l := newFleetLab(t)
	ds := l.startAll(t)
	a, b, c := ds[0], ds[1], ds[2]
	want := l.src.String() + "\n"

	// One replay cache: the sequence A took is refused at B.
	p := intoPeriod(0, 200*time.Millisecond, 1500*time.Millisecond) // the replay below stays in the door's window
	first := l.knockRot(t, 0)
	waitLines(t, filepath.Join(l.dirs[0], "rot.out"), want)
	l.replayRefusedAtBAndC(t, ds, first)

	// One replay cache for messages too: delivered at A, its knocks
	// replayed at B deliver nothing there.
	intoPeriod(p, 200*time.Millisecond, 1500*time.Millisecond)
	msg := l.sendMessage(t, 0, "deploy v1.2")
	waitLines(t, filepath.Join(l.dirs[0], "notify.out"), "deploy v1.2\n")
	knockPorts(t, l.knocker, l.addrs[1], msg...)
	waitLogged(t, b, "daemon: message not delivered", "used at another node of the fleet")
	if n := b.count("daemon: message delivered", "notify"); n != 0 {
		t.Errorf("the replayed message was delivered at B %d times", n)
	}

	// A fleet door: knocked at A, open at A, B and C. The time from the
	// knock to the last node's command is logged, never compared.
	knocked := time.Now()
	knockPorts(t, l.knocker, l.addrs[0], send.Target{Port: 7000, Proto: knock.TCP}, send.Target{Port: 7001, Proto: knock.TCP})
	for i := range 3 {
		waitLines(t, filepath.Join(l.dirs[i], "ssh.out"), want)
	}
	t.Logf("a fleet door knocked at A ran its start command at A, B and C within %v (files polled every 20ms)", time.Since(knocked))
	for _, d := range []*daemonProc{b, c} {
		waitCount(t, d, "daemon: door opened by the fleet", "ssh", 1, 30*time.Second)
	}

	// The audit chain holds every node's records, whole: A's opening, its
	// refusal at B, the fleet door's openings at A, B and C.
	// Each node sends its records when it can: ask again until all three
	// have.
	l.waitAuditWhole(t, 1)

	// The cluster gone: A decides alone, and its doors still open.
	b.stop()
	c.stop()
	p = intoPeriod(p, 200*time.Millisecond, 1500*time.Millisecond) // a sequence not used yet
	l.knockRot(t, 0)
	waitLines(t, filepath.Join(l.dirs[0], "rot.out"), want+want)
	if s := a.log(); !strings.Contains(s, "the cluster is unreachable; deciding alone") {
		t.Errorf("A's log does not say it decided alone:\n%s", s)
	}
	// A node started while its peers are down starts at once and opens
	// its doors alone too.
	b = l.start(t, 1)
	intoPeriod(p, 200*time.Millisecond, 1500*time.Millisecond)
	l.knockRot(t, 1)
	waitLines(t, filepath.Join(l.dirs[1], "rot.out"), want)
	b.stop()
	// A fleet door opens at A alone: the knocker is there already, so
	// its start command does not run again; the log says it opened.
	before := a.count("daemon: door opened", "ssh")
	knockPorts(t, l.knocker, l.addrs[0], send.Target{Port: 7000, Proto: knock.TCP}, send.Target{Port: 7001, Proto: knock.TCP})
	waitCount(t, a, "daemon: door opened", "ssh", before+1, 30*time.Second)
	if n, _ := a.stop()["fleet_degraded"].(float64); n < 1 {
		t.Errorf("A's shutdown line counts %v uses decided alone, want at least 1", n)
	}
}

// externalNATS is the address the lab's external nats-server listens on:
// the bridge's own, in the hub's namespace.
const externalNATS = "10.77.0.100"

// useExternalNATS builds the real nats-server of the version in go.mod,
// runs it with JetStream in the hub's namespace, and points every node's
// config at it instead of an embedded server.
func (l *fleetLab) useExternalNATS(t *testing.T) {
	t.Helper()
	bin := fleettest.BuildNATSServer(t)
	dir := t.TempDir()
	l.hub.IP("addr", "add", externalNATS+"/24", "dev", "br0")
	cmd := exec.Command("ip", "netns", "exec", l.hub.Name(), bin, "-js", "-a", externalNATS, "-p", "4222", "-sd", filepath.Join(dir, "store"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	embedded := regexp.MustCompile(`(?m)^(serve|cluster_listen|routes|server_program) = .*$`)
	for i := range l.conf {
		l.conf[i] = embedded.ReplaceAllString(l.conf[i], "")
		l.conf[i] = strings.Replace(l.conf[i], "[cluster]\n", "[cluster]\nnats = [\"nats://"+externalNATS+":4222\"]\n", 1)
	}
}

// forBothClusters runs test on a lab whose daemons serve an embedded
// three-node NATS cluster, and on one whose daemons all use an external
// nats-server instead.
func forBothClusters(t *testing.T, test func(*testing.T, *fleetLab)) {
	t.Run("embedded", func(t *testing.T) { test(t, newFleetLab(t)) })
	t.Run("external", func(t *testing.T) {
		l := newFleetLab(t)
		l.useExternalNATS(t)
		test(t, l)
	})
}

// Three daemons pointed at an external nats-server process, not serving
// one of their own: the replay cache and the fleet door work as with the
// embedded cluster.
func TestFleetExternalNATSEndToEnd(t *testing.T) {
	l := newFleetLab(t)
	l.useExternalNATS(t)
	ds := l.startAll(t)
	want := l.src.String() + "\n"
	intoPeriod(0, 200*time.Millisecond, 1500*time.Millisecond)
	first := l.knockRot(t, 0)
	waitLines(t, filepath.Join(l.dirs[0], "rot.out"), want)
	l.replayRefusedAtBAndC(t, ds, first)
	knockPorts(t, l.knocker, l.addrs[0], send.Target{Port: 7000, Proto: knock.TCP}, send.Target{Port: 7001, Proto: knock.TCP})
	for i := range 3 {
		waitLines(t, filepath.Join(l.dirs[i], "ssh.out"), want)
	}
	for _, d := range ds {
		d.stop()
	}
}

// marked knocks the mark door at node i and waits until d opened it:
// every knock sent before has been acted on.
func (l *fleetLab) marked(t *testing.T, d *daemonProc, i int) {
	t.Helper()
	before := d.count("daemon: door opened", "mark")
	knockPorts(t, l.knocker, l.addrs[i], send.Target{Port: 7100, Proto: knock.TCP}, send.Target{Port: 7101, Proto: knock.TCP})
	waitCount(t, d, "daemon: door opened", "mark", before+1, 30*time.Second)
}

// waitUser waits until d has logged that user was added or revoked, and
// returns how long after the change that was (its since_change).
func waitUser(t *testing.T, d *daemonProc, msg, user string) time.Duration {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d.mu.Lock()
		var rec map[string]any
		for _, r := range d.lines {
			if r["msg"] == msg && r["user"] == user {
				rec = r
			}
		}
		d.mu.Unlock()
		if rec != nil {
			since, ok := rec["since_change"].(float64)
			if !ok {
				t.Fatalf("%q for user %q: no since_change in %v", msg, user, rec)
			}
			return time.Duration(since)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q for user %q in 30s", msg, user)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Users' keys kept in the fleet: a user added at A opens the fleet_users
// door at C with their own key, the log naming them; revoked at B, every
// node drops their key within a second and it opens the door nowhere.
func TestFleetUsersEndToEnd(t *testing.T) {
	forBothClusters(t, testFleetUsers)
}

func testFleetUsers(t *testing.T, l *fleetLab) {
	ds := l.startAll(t)
	c := ds[2]
	alice := filepath.Join(t.TempDir(), "alice.key")
	if err := portlang.WriteKeyFile(alice); err != nil {
		t.Fatal(err)
	}
	team := filepath.Join(l.dirs[2], "team.out")
	want := l.src.String() + "\n"

	// Not a user yet: her key opens nothing.
	p := intoPeriod(0, 200*time.Millisecond, 1500*time.Millisecond)
	l.knockRotating(t, 2, alice, "team", "30000-39999")
	l.marked(t, c, 2)
	if n := c.count("daemon: door opened", "team"); n != 0 {
		t.Fatalf("a key no one added opened the door %d times", n)
	}

	if status, out := l.cli(t, 0, "--user-add", "alice", alice); status != ExitOK {
		t.Fatalf("--user-add at A: status %d: %s", status, out)
	}
	waitUser(t, c, "daemon: fleet: user added", "alice")
	p = intoPeriod(p, 200*time.Millisecond, 1500*time.Millisecond)
	l.knockRotating(t, 2, alice, "team", "30000-39999")
	waitLines(t, team, want)
	if !strings.Contains(c.log(), `"user":"alice"`) {
		t.Errorf("C's log does not name alice:\n%s", c.log())
	}

	if status, out := l.cli(t, 1, "--user-revoke", "alice"); status != ExitOK {
		t.Fatalf("--user-revoke at B: status %d: %s", status, out)
	}
	// Every node has it within a second: each is told (a watch, not a
	// poll), makes its doors again, and logs how long after the
	// revocation was signed at B its doors were in force (the daemons
	// share the machine's clock).
	for i, d := range ds {
		lag := waitUser(t, d, "daemon: fleet: user revoked", "alice")
		t.Logf("node %c dropped alice's key %v after the revocation at B", 'A'+i, lag)
		if lag < 0 || lag > time.Second {
			t.Errorf("node %c dropped alice's key %v after the revocation, want within 1s", 'A'+i, lag)
		}
	}
	// Her key opens the door nowhere now.
	intoPeriod(p, 200*time.Millisecond, 1500*time.Millisecond)
	for i, d := range ds {
		l.knockRotating(t, i, alice, "team", "30000-39999")
		l.marked(t, d, i)
	}
	for i, d := range ds {
		if n := d.count("daemon: door opened", "team"); i != 2 && n != 0 || i == 2 && n != 1 {
			t.Errorf("node %c opened the team door %d times in all; alice's revoked key must open it nowhere", 'A'+i, n)
		}
	}
	if got := readAll(t, team); got != want {
		t.Errorf("after the revocation team.out = %q, want only the opening before it", got)
	}
	for _, d := range ds {
		d.stop()
	}
}
