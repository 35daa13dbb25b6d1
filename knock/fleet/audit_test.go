package fleet

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestAuditSenderAttacked plays someone who can publish to the audit
// stream while a node is down with records waiting in its spool. What
// the attacker puts there must not make the node drop a record from its
// spool that the stream does not hold: the node learns how far it got
// from the stream's last record on its subject, and from Duplicate
// acknowledgements, and neither is to be taken on trust.
func TestAuditSenderAttacked(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server")
	}
	tests := []struct {
		name   string
		attack func(t *testing.T, js jetstream.JetStream, subj string, victim *signer, spool []spooled)
	}{
		{"a record numbered 50 on the node's subject, signed by another key", func(t *testing.T, js jetstream.JetStream, subj string, _ *signer, _ []spooled) {
			raw, _, err := newSigner(ed25519Key(t), time.Now).seal(kindAudit, auditBody{Seq: 50, AuditRecord: AuditRecord{Kind: AuditOpening}})
			if err != nil {
				t.Fatal(err)
			}
			publish(t, js, subj, raw)
		}},
		{"record 2 of an earlier chain of the node's key (its state directory was lost)", func(t *testing.T, js jetstream.JetStream, subj string, victim *signer, _ []spooled) {
			raw, _, err := victim.seal(kindAudit, auditBody{Seq: 2, Prev: recordHash([]byte("an older record 1")), AuditRecord: AuditRecord{Kind: AuditSong}})
			if err != nil {
				t.Fatal(err)
			}
			publish(t, js, subj, raw)
		}},
		{"another message under record 2's dedup ID", func(t *testing.T, js jetstream.JetStream, subj string, victim *signer, spool []spooled) {
			publish(t, js, subj, []byte("not record 2"), jetstream.WithMsgID(auditMsgID(victim.id, spool[1])))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
			if err != nil {
				t.Fatal(err)
			}
			srv.Start()
			t.Cleanup(srv.Shutdown)
			if !srv.ReadyForConnections(10 * time.Second) {
				t.Fatal("NATS server not ready")
			}
			f := newTestFleet(t, 1)
			cfg := f.config(0)
			cfg.NATS = []string{srv.ClientURL()}
			opts := f.opts(t, 0)
			nc, err := nats.Connect(srv.ClientURL())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(nc.Close)
			js, err := jetstream.New(nc)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			// The stream as the fleet makes it, but for a dedup window
			// short enough for a test to see an ID taken by someone
			// else expire (the first to create a stream sets it up).
			name := "knockbeep_" + cfg.Name + "_audit"
			s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{"knockbeep." + cfg.Name + ".audit.*"}, Duplicates: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}

			// Three records made while the cluster was unreachable.
			key, err := ReadKeyFile(cfg.NodeKey)
			if err != nil {
				t.Fatal(err)
			}
			victim := newSigner(key, time.Now)
			a, err := openAuditLog(filepath.Join(opts.StateDir, "audit"), 100, victim, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if err := a.append(AuditRecord{Kind: AuditOpening, Door: "ssh"}); err != nil {
					t.Fatal(err)
				}
			}
			spool := a.unsent()
			a.close()
			subj := "knockbeep." + cfg.Name + ".audit." + string(victim.id)
			tt.attack(t, js, subj, victim, spool)

			nd := openNode(t, cfg, opts)
			if err := nd.Ready(ctx); err != nil {
				t.Fatal(err)
			}
			waitSent(t, nd)
			held := map[string]bool{}
			info, err := s.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
				m, err := s.GetMsg(ctx, seq)
				if err != nil {
					t.Fatal(err)
				}
				held[string(m.Data)] = true
			}
			for _, p := range spool {
				if !held[string(p.raw)] {
					t.Errorf("record %d dropped from the spool as sent, but the stream does not hold it", p.seq)
				}
			}
		})
	}
}

func publish(t *testing.T, js jetstream.JetStream, subj string, data []byte, opts ...jetstream.PublishOpt) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.Publish(ctx, subj, data, opts...); err != nil {
		t.Fatal(err)
	}
}
