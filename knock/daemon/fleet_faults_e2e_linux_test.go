package daemon

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/send"
	"github.com/knockbeep/knockbeep/knock/send/sendtest"
)

// fleetSSHDoor is the lab's "ssh" door block in each node's config.
var fleetSSHDoor = regexp.MustCompile(`(?s)\[\[door\]\]\nname = "ssh"\n.*?\n\n`)

// The lab's nodes behind the shipped nftables ruleset, each with a
// listener on port 22 that only the knocked set reaches; their NATS
// ports stay open to each other, as an operator adopting the ruleset on
// a fleet would add. The "ssh" fleet door adds the knocker to the set
// for openFor.
func (l *fleetLab) behindFirewalls(t *testing.T, openFor string) {
	t.Helper()
	var nodes []string
	for _, a := range l.addrs {
		nodes = append(nodes, a.String())
	}
	natsPorts := "add rule inet filter input ip saddr { " + strings.Join(nodes, ", ") + " } tcp dport { 4222, 6222 } accept"
	for i := range l.nodes {
		loadShippedRuleset(t, l.nodes[i], natsPorts)
		listenSSH(t, l.nodes[i])
		door := `[[door]]
name = "ssh"
sequence = "7000,7001"
fleet = true
open = ["nft:inet/filter/knocked4"]
open_for = "` + openFor + `"

`
		conf := fleetSSHDoor.ReplaceAllString(l.conf[i], door)
		if !strings.Contains(conf, door) {
			t.Fatal("the lab's config has no ssh door to put behind the firewall")
		}
		l.conf[i] = conf
	}
}

// A fleet door knocked at A opens every node's firewall for the knocker,
// in the kernel: a connection from the knocker's namespace to port 22 of
// A, B and C succeeds, one from a stranger's fails, and when open_for
// ends every node closes again.
func TestFleetDoorOpensFirewallsEndToEnd(t *testing.T) {
	forBothClusters(t, testFleetDoorOpensFirewalls)
}

func testFleetDoorOpensFirewalls(t *testing.T, l *fleetLab) {
	stranger := sendtest.NewNetns(t)
	l.join(stranger, 10, "10.77.0.10")
	l.behindFirewalls(t, "20s")
	ds := l.startAll(t)
	for i, addr := range l.addrs {
		if connects(t, l.knocker, addr) {
			t.Fatalf("node %d's port 22 accepts the knocker before any knock: the ruleset is not in force", i)
		}
	}

	knocked := time.Now()
	knockPorts(t, l.knocker, l.addrs[0], send.Target{Port: 7000, Proto: knock.TCP}, send.Target{Port: 7001, Proto: knock.TCP})
	for i, addr := range l.addrs {
		waitConnects(t, l.knocker, addr, true, 15*time.Second, "node "+string(rune('A'+i))+" after the knock at A")
	}
	t.Logf("the knocker connected to port 22 of A, B and C within %v of the knock at A (a refused try waits 300ms)", time.Since(knocked))
	for i, addr := range l.addrs {
		if connects(t, stranger, addr) {
			t.Errorf("the stranger, who never knocked, got through to node %c", 'A'+i)
		}
	}
	for i, d := range ds[1:] {
		if n := d.count("daemon: door opened by the fleet", "ssh"); n != 1 {
			t.Errorf("node %c applied the opening %d times, want once", 'B'+i, n)
		}
		// The daemons and the test share the clock: the figure is the
		// closing note's "knock at A to the opening at C".
		at, err := time.Parse(time.RFC3339Nano, d.waitLog("daemon: firewall: opened", 5*time.Second)["time"].(string))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("node %c put the knocker in its set %v after the knock at A", 'B'+i, at.Sub(knocked).Round(100*time.Microsecond))
	}
	for i, addr := range l.addrs {
		waitConnects(t, l.knocker, addr, false, 30*time.Second, "node "+string(rune('A'+i))+" after open_for")
	}
}

// cut separates node i from the other nodes, not from the knocker: its
// namespace drops every packet to or from their addresses, so its NATS
// server loses its routes and its daemon can reach only itself.
func (l *fleetLab) cut(t *testing.T, i int) {
	t.Helper()
	var others []string
	for j, a := range l.addrs {
		if j != i {
			others = append(others, a.String())
		}
	}
	set := "{ " + strings.Join(others, ", ") + " }"
	nftIn(t, l.nodes[i], `table inet cut {
	chain in { type filter hook input priority -10; ip saddr `+set+` drop; }
	chain out { type filter hook output priority -10; ip daddr `+set+` drop; }
}
`)
}

// heal undoes cut.
func (l *fleetLab) heal(t *testing.T, i int) {
	t.Helper()
	nftIn(t, l.nodes[i], "delete table inet cut\n")
}

// spooled is the size of node i's audit spool: records written on its
// disk and not yet in the stream.
func (l *fleetLab) spooled(t *testing.T, i int) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(l.dirs[i], "state", "audit", "spool"))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// waitAuditWhole runs --audit-verify at node i until the chain holds the
// records of all three nodes with no break.
func (l *fleetLab) waitAuditWhole(t *testing.T, i int) string {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; {
		status, out := l.auditVerify(t, i)
		if status != ExitOK {
			t.Fatalf("--audit-verify at node %d: status %d, output %q; want 0", i, status, out)
		}
		if strings.Contains(out, "from 3 nodes, 0 breaks") {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("--audit-verify at node %d: %q; want records of 3 nodes, no breaks", i, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// C cut off from A and B, acting alone, and killed; then the cut healed
// and C restarted: C applies once the fleet opening it missed, its
// records written while alone reach the audit stream, in order and once
// each (--audit-verify at C, which also knows how many it wrote), and
// nothing is applied twice after another restart. A record altered in
// the stream afterwards is reported.
func TestFleetFaultsEndToEnd(t *testing.T) {
	l := newFleetLab(t)
	ds := l.startAll(t)
	a, b, c := ds[0], ds[1], ds[2]
	want := l.src.String() + "\n"
	sshOut := func(i int) string { return filepath.Join(l.dirs[i], "ssh.out") }

	l.cut(t, 2)
	// A fleet door knocked at A opens at A and B; C cannot hear of it.
	knockPorts(t, l.knocker, l.addrs[0], send.Target{Port: 7000, Proto: knock.TCP}, send.Target{Port: 7001, Proto: knock.TCP})
	waitLines(t, sshOut(0), want)
	waitLines(t, sshOut(1), want)
	if a.count("daemon: fleet: opening not published yet; trying again while the other nodes could still apply it", "ssh") > 0 {
		t.Logf("A published the opening in %d tries: the cluster was choosing new leaders without C", int(a.waitLog("daemon: fleet: opening published", 10*time.Second)["tries"].(float64)))
	}
	// C decides alone: its rotating door opens, and its audit records
	// wait on its disk.
	intoPeriod(0, 200*time.Millisecond, 1500*time.Millisecond)
	l.knockRot(t, 2)
	waitLines(t, filepath.Join(l.dirs[2], "rot.out"), want)
	c.waitLog("daemon: fleet: the cluster is unreachable; deciding alone (local replay cache, openings not shared) until it answers", 30*time.Second)
	if got := readAll(t, sshOut(2)); got != "" {
		t.Fatalf("C, cut off, ran the fleet door's command: ssh.out = %q", got)
	}
	// C dies with its records unsent (they reach the spool from a queue:
	// wait for them first).
	for deadline := time.Now().Add(30 * time.Second); l.spooled(t, 2) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("C's audit spool is still empty 30s after acting alone: its records were not kept on disk")
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.kill()

	l.heal(t, 2)
	c = l.start(t, 2)
	joined(t, c)
	// C catches up on the opening it missed, and sends what it kept.
	waitLines(t, sshOut(2), want)
	waitCount(t, c, "daemon: door opened by the fleet", "ssh", 1, 30*time.Second)
	applied := time.Now()
	for deadline := time.Now().Add(60 * time.Second); l.spooled(t, 2) > 0; {
		if time.Now().After(deadline) {
			t.Fatalf("C's audit spool still holds %d bytes a minute after the cut healed", l.spooled(t, 2))
		}
		time.Sleep(100 * time.Millisecond)
	}
	out := l.waitAuditWhole(t, 2)
	t.Logf("--audit-verify at C after the cut healed: %s", out)

	// Restarted once more, C applies nothing again, and B never did
	// twice.
	c.stop()
	c = l.start(t, 2)
	joined(t, c)
	// An opening delivered and not acknowledged would come again once the
	// consumer's AckWait (10 s) has passed since its delivery: wait that
	// long before looking.
	time.Sleep(time.Until(applied.Add(12 * time.Second)))
	l.marked(t, c, 2)
	if n := c.count("daemon: door opened by the fleet", "ssh"); n != 0 {
		t.Errorf("C applied the fleet opening again after a restart (%d times)", n)
	}
	for i := range 3 {
		if got := readAll(t, sshOut(i)); got != want {
			t.Errorf("node %d: ssh.out = %q, want the knocker once", i, got)
		}
	}
	if n := b.count("daemon: door opened by the fleet", "ssh"); n != 1 {
		t.Errorf("B applied the fleet opening %d times, want once", n)
	}

	// Someone with write access to the stream alters C's opening of the
	// rotating door: --audit-verify at A finds it.
	l.alterAuditRecord(t, 0, `"door":"rot"`, `"door":"www"`)
	status, out := l.auditVerify(t, 0)
	if status != ExitBroken || !strings.Contains(out, "altered") {
		t.Errorf("--audit-verify at A after the record was altered: status %d, output %q; want %d and the altered record named", status, out, ExitBroken)
	}
	a.stop()
	b.stop()
	c.stop()
}

// alterAuditRecord replaces, in the fleet's audit stream, the first
// record holding old with a copy in which old is new: deleted where it
// was, published again at the end on the same subject, as someone with
// write access to the stream (not to any node's key) could.
func (l *fleetLab) alterAuditRecord(t *testing.T, i int, old, new string) {
	t.Helper()
	err := l.nodes[i].Do(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		nc, err := nats.Connect("nats://"+l.addrs[i].String()+":4222", nats.NoReconnect())
		if err != nil {
			return err
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return err
		}
		s, err := js.Stream(ctx, "knockbeep_e2e_audit")
		if err != nil {
			return err
		}
		for seq := uint64(1); seq <= s.CachedInfo().State.LastSeq; seq++ {
			m, err := s.GetMsg(ctx, seq)
			if err != nil || !bytes.Contains(m.Data, []byte(old)) {
				continue // a deleted message, or another record
			}
			if err := s.DeleteMsg(ctx, seq); err != nil {
				return err
			}
			_, err = js.Publish(ctx, m.Subject, bytes.Replace(m.Data, []byte(old), []byte(new), 1))
			return err
		}
		return fmt.Errorf("no record in the audit stream holds %s", old)
	})
	if err != nil {
		t.Fatal(err)
	}
}
