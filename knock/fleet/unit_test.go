package fleet

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// TestEnvelopeAttacks plays the attacker against the verifier alone.
func TestEnvelopeAttacks(t *testing.T) {
	trust, err := ParseTrust([]byte(pub1Line + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	var drops [dropCount]atomic.Uint64
	v := newVerifier(trust, clock, time.Minute, &drops)
	s1 := newSigner(key1, clock)
	good, _, err := s1.seal(kindOpening, openingBody{Door: "ssh"})
	if err != nil {
		t.Fatal(err)
	}
	old, _, _ := newSigner(key1, func() time.Time { return now.Add(-2 * time.Minute) }).seal(kindOpening, openingBody{Door: "ssh"})
	future, _, _ := newSigner(key1, func() time.Time { return now.Add(2 * time.Minute) }).seal(kindOpening, openingBody{Door: "ssh"})
	untrusted, _, _ := newSigner(key2, clock).seal(kindOpening, openingBody{Door: "ssh"})
	cue, _, _ := s1.seal(kindCue, cueBody{ID: "x"})
	forged := bytes.Replace(good, []byte(`"ssh"`), []byte(`"www"`), 1)
	// key2's signature over key1's header: a node signing as another.
	impostor := append(append([]byte(nil), untrusted[:64]...), good[64:]...)
	tests := []struct {
		name string
		msg  []byte
		why  int
	}{
		{"forged body", forged, dropSignature},
		{"signed by another key", impostor, dropSignature},
		{"untrusted key", untrusted, dropUntrusted},
		{"old timestamp", old, dropStale},
		{"future timestamp", future, dropStale},
		{"garbage", []byte("\x00\x01garbage"), dropMalformed},
		{"empty", nil, dropMalformed},
		{"signature only", good[:64], dropMalformed},
		{"trailing data", append(append([]byte(nil), good...), " {}"...), dropMalformed},
		{"oversized", make([]byte, MaxMessage+1), dropOversized},
		{"wrong kind", cue, dropKind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := drops[tt.why].Load()
			if _, err := v.open(tt.msg, kindOpening); err == nil {
				t.Fatal("accepted")
			}
			if drops[tt.why].Load() != before+1 {
				t.Errorf("not counted as %s", dropNames[tt.why])
			}
		})
	}
	if _, err := v.open(good, kindOpening); err != nil {
		t.Fatalf("the genuine message: %v", err)
	}
	if _, err := v.open(good, kindOpening); err == nil || drops[dropReplayed].Load() != 1 {
		t.Fatalf("a replay of it inside the window: %v, replayed=%d", err, drops[dropReplayed].Load())
	}
}

func FuzzOpenEnvelope(f *testing.F) {
	trust, _ := ParseTrust([]byte(pub1Line))
	good, _, _ := newSigner(key1, time.Now).seal(kindOpening, openingBody{Door: "ssh"})
	f.Add(good)
	f.Add([]byte("garbage"))
	f.Add(append(make([]byte, 64), `{"v":1,"kind":"x","node":"`+pub1Line[8:]+`","time":0,"id":"a","body":{}}`...))
	f.Fuzz(func(t *testing.T, msg []byte) {
		e, _, err := openEnvelope(msg, trust)
		if err == nil && (e.Node != ID(key1.Public().(ed25519.PublicKey)) || len(msg) > MaxMessage) {
			t.Fatalf("accepted %q from %s", msg, e.Node)
		}
	})
}

func spoolFor(t testing.TB, n int) []byte {
	t.Helper()
	a := &auditLog{dir: t.TempDir(), max: 100, sign: newSigner(key1, time.Now), log: slog.New(slog.DiscardHandler)}
	f, err := os.Create(filepath.Join(a.dir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	a.f = f
	for range n {
		if err := a.append(AuditRecord{Kind: AuditSong, Detail: "imperial march"}); err != nil {
			t.Fatal(err)
		}
	}
	a.close()
	data, err := os.ReadFile(filepath.Join(a.dir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseSpool(t *testing.T) {
	whole := spoolFor(t, 3)
	lines := bytes.SplitAfter(whole, []byte("\n"))
	tests := []struct {
		name     string
		data     []byte
		wantRecs int
		wantGood int
	}{
		{"empty", nil, 0, 0},
		{"whole", whole, 3, len(whole)},
		{"torn last line", whole[:len(whole)-10], 2, len(lines[0]) + len(lines[1])},
		{"no final newline", whole[:len(whole)-1], 2, len(lines[0]) + len(lines[1])},
		{"garbage tail", append(append([]byte(nil), whole...), "!!!\n"...), 3, len(whole)},
		{"valid base64, not a record", []byte(base64.StdEncoding.EncodeToString([]byte("hello there, not a record at all, no no no no no no no no no no no")) + "\n"), 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, good := parseSpool(tt.data)
			if len(recs) != tt.wantRecs || good != tt.wantGood {
				t.Errorf("got %d records, %d good bytes; want %d, %d", len(recs), good, tt.wantRecs, tt.wantGood)
			}
		})
	}
}

func FuzzParseSpool(f *testing.F) {
	whole := spoolFor(f, 3)
	f.Add(whole)
	f.Add(whole[:len(whole)-10])
	f.Add([]byte("!!!\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, good := parseSpool(data)
		if good < 0 || good > len(data) || (good > 0 && data[good-1] != '\n') {
			t.Fatalf("good = %d of %d bytes", good, len(data))
		}
		// The good prefix parses to the same records on its own.
		again, good2 := parseSpool(data[:good])
		if good2 != good || len(again) != len(recs) {
			t.Fatalf("prefix reparsed to %d records, %d bytes; first pass %d, %d", len(again), good2, len(recs), good)
		}
	})
}

// TestAuditSpoolRestart: records survive a restart with a torn tail, the
// chain goes on from the head, and the spool is bounded.
func TestAuditSpoolRestart(t *testing.T) {
	dir := t.TempDir()
	sign := newSigner(key1, time.Now)
	log := slog.New(slog.DiscardHandler)
	a, err := openAuditLog(dir, 3, sign, log)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := a.append(AuditRecord{Kind: AuditOpening}); err != nil {
			t.Fatal(err)
		}
	}
	a.close()
	// A crash mid-write of a third record.
	f, _ := os.OpenFile(filepath.Join(dir, "spool"), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("eyJ2IjoxLCJr")
	f.Close()
	a, err = openAuditLog(dir, 3, sign, log)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	if got := len(a.unsent()); got != 2 {
		t.Fatalf("%d records after restart, want 2", got)
	}
	if err := a.append(AuditRecord{Kind: AuditClosing}); err != nil {
		t.Fatal(err)
	}
	p := a.unsent()
	_, b, _ := decodeAudit(p[2].raw)
	if b.Seq != 3 || b.Prev != recordHash(p[1].raw) {
		t.Errorf("third record seq %d prev %.8s, want 3 chained to record 2", b.Seq, b.Prev)
	}
	if err := a.append(AuditRecord{Kind: AuditClosing}); err != ErrAuditFull {
		t.Errorf("fourth record in a spool of 3: %v, want ErrAuditFull", err)
	}
	if err := a.sent(2); err != nil {
		t.Fatal(err)
	}
	if got := a.unsent(); len(got) != 1 || got[0].seq != 3 {
		t.Errorf("after sending 1-2, unsent = %v", got)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "spool"))
	if recs, _ := parseSpool(data); len(recs) != 1 {
		t.Errorf("spool file holds %d records after sending, want 1", len(recs))
	}
}
