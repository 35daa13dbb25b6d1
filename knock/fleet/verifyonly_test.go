package fleet

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A verify-only node runs beside a live node with the same config and
// state directory (knockbeepd --audit-verify beside the daemon): it
// reaches the embedded server as a client, reads the live node's chain
// without changing it, and finds what was
// removed from the end of the chain.
func TestVerifyOnlyBesideALiveNode(t *testing.T) {
	f := newTestFleet(t, 2)
	cfg := f.serving(t, 0)
	opts := f.opts(t, 0)
	live := openNode(t, cfg, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	if err := live.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{AuditOpening, AuditClosing, AuditReplayRefused} {
		if err := live.Audit(AuditRecord{Kind: kind, Door: "ssh", Addr: "192.0.2.7"}); err != nil {
			t.Fatal(err)
		}
	}
	waitSent(t, live)
	spool := filepath.Join(opts.StateDir, "audit", "spool")
	before, _ := os.ReadFile(spool)

	// The daemon's own config, serve on 0.0.0.0: the verifier connects to
	// loopback.
	vcfg := cfg
	vcfg.Serve = strings.Replace(strings.TrimPrefix(live.ClientURL(), "nats://"), "127.0.0.1", "0.0.0.0", 1)
	v := openNode(t, vcfg, Options{StateDir: opts.StateDir, VerifyOnly: true, OpTimeout: 5 * time.Second})
	if v.ClientURL() != "" {
		t.Errorf("the verifier started an embedded server at %s", v.ClientURL())
	}
	if err := v.Audit(AuditRecord{Kind: AuditOpening}); err == nil {
		t.Error("a verify-only node wrote an audit record")
	}
	rep := verify(t, v)
	if !rep.OK() || rep.Records != 3 {
		t.Errorf("report %v, want 3 records and no breaks", rep)
	}
	after, _ := os.ReadFile(spool)
	if !bytes.Equal(before, after) {
		t.Error("the verifier changed the live node's audit spool")
	}

	// The last record removed from the stream: the walk finds no gap, but
	// the chain on disk says how far it went.
	_, js := (&embeddedCluster{nodes: []*Node{live}}).plainJS(t, 0)
	s, err := js.Stream(ctx, "knockbeep_test_audit")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMsg(ctx, info.State.LastSeq); err != nil {
		t.Fatal(err)
	}
	rep = verify(t, v)
	if rep.OK() || !strings.Contains(rep.String(), "removed") {
		t.Errorf("report %v, want the removed tail named", rep)
	}
}
