package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func waitSent(t testing.TB, nd *Node) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for nd.AuditPending() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d audit records never sent", nd.AuditPending())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func verify(t testing.TB, nd *Node) *AuditReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rep, err := nd.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// testFaults kills and restarts a node, partitions one off and heals it,
// and then tampers with the audit stream: nothing is lost, nothing is
// applied twice, the chain verifies, and each kind of tampering is named.
// It runs last in TestCluster, on its cluster (starting a cluster is
// most of the time these tests take).
func testFaults(t *testing.T, c *embeddedCluster) {
	ctx := context.Background()
	a := c.nodes[0]
	for i, nd := range c.nodes {
		for j := range 3 {
			if err := nd.Audit(AuditRecord{Kind: AuditOpening, Door: "ssh", Addr: knocker.String(), Detail: fmt.Sprint(i, j)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := a.AddUserKey(ctx, "bob", []byte("b")); err != nil {
		t.Fatal(err)
	}
	waitUser(t, c.nodes[2], "bob", true)

	t.Run("kill and restart", func(t *testing.T) {
		c.stop(2)
		until := time.Now().Add(time.Hour)
		for i := range 5 {
			if err := a.PublishOpening(ctx, fmt.Sprint("while-down-", i), knocker, until); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.RevokeUserKey(ctx, "bob"); err != nil {
			t.Fatal(err)
		}
		c.open(t, 2)
		c.ready(t)
		// Ready means the revocation made while it was down is known.
		if _, ok := c.nodes[2].UserKeys()["bob"]; ok {
			t.Fatal("a restarted node was ready before it knew of a revocation")
		}
		for i := range 5 {
			if o := recv(t, c.nodes[2]); o.Door != fmt.Sprint("while-down-", i) {
				t.Fatalf("after restart got %q, want while-down-%d", o.Door, i)
			}
		}
		// Restarting again delivers none of them a second time.
		c.stop(2)
		c.open(t, 2)
		c.ready(t)
		if err := a.PublishOpening(ctx, "marker-restart", knocker, until); err != nil {
			t.Fatal(err)
		}
		noneBefore(t, c.nodes[2], "marker-restart")
	})

	t.Run("partition and heal", func(t *testing.T) {
		// Node 2 keeps running while the servers of 0 and 1 go away: its
		// server has no quorum, so it is cut off from the fleet.
		c.stop(0)
		c.stop(1)
		alone := c.nodes[2]
		first, err := alone.Claim(ctx, "while-alone", time.Minute)
		if !first || !errors.Is(err, ErrDegraded) {
			t.Fatalf("claim while alone = %v, %v; want true and ErrDegraded", first, err)
		}
		if err := alone.PublishOpening(ctx, "x", knocker, time.Now().Add(time.Hour)); !errors.Is(err, ErrDegraded) {
			t.Fatalf("publish while alone: %v, want ErrDegraded", err)
		}
		for j := range 4 {
			if err := alone.Audit(AuditRecord{Kind: AuditReplayRefused, Detail: fmt.Sprint("alone ", j)}); err != nil {
				t.Fatal(err)
			}
		}
		if alone.AuditPending() == 0 {
			t.Fatal("no records kept on disk while alone")
		}
		c.open(t, 0)
		c.open(t, 1)
		c.ready(t)
		for i, nd := range c.nodes {
			if _, ok := nd.UserKeys()["bob"]; ok {
				t.Errorf("node %d: ready after the heal with a revoked key", i)
			}
		}
		for _, nd := range c.nodes {
			waitSent(t, nd)
		}
		rep := verify(t, c.nodes[0])
		if !rep.OK() {
			t.Fatalf("after heal: %v", rep)
		}
		if want := uint64(3 + 4); rep.Heads[alone.ID()] != want {
			t.Errorf("node 2 head %d, want %d (all records, once each): %v", rep.Heads[alone.ID()], want, rep)
		}
	})

	t.Run("tampering", func(t *testing.T) {
		_, js := c.plainJS(t, 0)
		s, err := js.Stream(ctx, a.bucket("audit"))
		if err != nil {
			t.Fatal(err)
		}
		subjA := a.subject("audit", string(a.ID()))
		// Find A's record 2 and alter a copy of it.
		var rec2 jetstream.RawStreamMsg
		for seq := uint64(1); ; seq++ {
			m, err := s.GetMsg(ctx, seq)
			if err != nil {
				t.Fatal(err)
			}
			if _, b, _ := decodeAudit(m.Data); m.Subject == subjA && b.Seq == 2 {
				rec2 = *m
				break
			}
		}
		altered := []byte(strings.Replace(string(rec2.Data), `"door":"ssh"`, `"door":"www"`, 1))
		// Remove record 2, put the altered copy at the end, and insert
		// an exact copy of record 1 of node 1.
		if err := s.DeleteMsg(ctx, rec2.Sequence); err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, subjA, altered); err != nil {
			t.Fatal(err)
		}
		subjB := a.subject("audit", string(c.nodes[1].ID()))
		m, err := s.GetLastMsgForSubject(ctx, subjB)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, subjB, m.Data); err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, subjB, []byte("garbage")); err != nil {
			t.Fatal(err)
		}
		rep := verify(t, c.nodes[2])
		t.Log(rep)
		want := []string{
			"node " + string(a.ID()) + " record 3: record 2 is missing: removed",
			"node " + string(a.ID()) + " record 2: fleet: signature does not match: altered",
			"record 3: a second copy of record 3: inserted",
			"not an audit record",
		}
		got := rep.String()
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("report lacks %q", w)
			}
		}
		if len(rep.Breaks) != len(want) {
			t.Errorf("%d breaks, want %d", len(rep.Breaks), len(want))
		}
	})
}
