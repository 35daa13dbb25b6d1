package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock/fleet"
)

// An opening from the fleet opens only this host's fleet door of its
// name, and only while it lasts: a peer (or anyone who could publish as
// one) cannot open a door that is not a fleet door here, an unknown
// door, or one whose opening is over.
func TestApplyOpening(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := testConfig(t, dir, `
speaker = "none"
state_dir = "{{DIR}}/state"
[[door]]
name = "ssh"
sequence = "7000,7001"
start_command = ["/bin/sh", "-c", "echo %IP% %DOOR% >> {{DIR}}/out"]
[[door]]
name = "web"
sequence = "7100,7101"
start_command = ["/bin/sh", "-c", "echo %IP% %DOOR% >> {{DIR}}/out"]
`)
	d, err := New(cfg, Options{Logger: slog.New(slog.DiscardHandler), Replay: bytes.NewReader(pcapFile(t))})
	if err != nil {
		t.Fatal(err)
	}
	defer d.capt.Load().Close()
	// A fleet door needs a [cluster] table, which validation checks; the
	// daemon gets a fleet of its own here, with no node.
	d.cfg.Doors[0].Fleet = true
	d.fleet = &fleetPart{log: d.log, audits: make(chan fleet.AuditRecord, 16), closings: map[*time.Timer]fleet.AuditRecord{}}
	now := time.Now()
	peer := fleet.NodeID("peer")
	for _, o := range []fleet.Opening{
		{Door: "web", Addr: netip.MustParseAddr("198.51.100.1"), Until: now.Add(time.Hour), Node: peer},  // not a fleet door here
		{Door: "nope", Addr: netip.MustParseAddr("198.51.100.2"), Until: now.Add(time.Hour), Node: peer}, // no such door
		{Door: "ssh", Addr: netip.MustParseAddr("198.51.100.3"), Until: now.Add(-time.Second), Node: peer},
		{Door: "ssh", Addr: netip.MustParseAddr("::ffff:198.51.100.4"), Until: now.Add(time.Hour), Node: peer},
	} {
		d.do(func() { d.applyOpening(o) })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.runner.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := readAll(t, filepath.Join(dir, "out")), "198.51.100.4 ssh\n"; got != want {
		t.Errorf("the doors' commands wrote %q, want %q (only the fleet door, while its opening lasts)", got, want)
	}
	if n := d.Stats().Fleet.Applied; n != 1 {
		t.Errorf("%d openings applied, want 1", n)
	}
	select {
	case rec := <-d.fleet.audits:
		if rec.Kind != fleet.AuditOpening || rec.Door != "ssh" || rec.Addr != "198.51.100.4" {
			t.Errorf("audit record %+v, want the opening of ssh for 198.51.100.4", rec)
		}
	default:
		t.Error("no audit record of the applied opening")
	}
	for tm := range d.fleet.closings {
		tm.Stop()
	}
}

// The log says the cluster went away once, when an operation found it
// unreachable, and came back once; an error that is not the cluster's (a
// peer that did not answer a cue) and the daemon's own stopping say
// nothing of it.
func TestNoteCluster(t *testing.T) {
	var logs bytes.Buffer
	f := &fleetPart{log: slog.New(slog.NewTextHandler(&logs, nil))}
	var cancel context.CancelFunc
	f.ctx, cancel = context.WithCancel(context.Background())
	unreachable := fmt.Errorf("%w (claim: timeout)", fleet.ErrDegraded)
	away := func() int { return strings.Count(logs.String(), "the cluster is unreachable") }
	back := func() int { return strings.Count(logs.String(), "the cluster answers again") }

	f.noteCluster(errors.New("cue: 1 node of 3 did not acknowledge"))
	f.noteCluster(nil)
	if away() != 0 || back() != 0 {
		t.Fatalf("a peer's silence and a success with the cluster there logged:\n%s", logs.String())
	}
	f.noteCluster(unreachable)
	f.noteCluster(unreachable)
	f.noteCluster(nil)
	f.noteCluster(nil)
	if away() != 1 || back() != 1 {
		t.Fatalf("gone twice and back twice logged %d gone, %d back; want 1 each:\n%s", away(), back(), logs.String())
	}
	cancel()
	f.noteCluster(unreachable)
	if away() != 1 {
		t.Errorf("an operation cut short by the daemon stopping said the cluster is unreachable:\n%s", logs.String())
	}
}
