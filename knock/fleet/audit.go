package fleet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The audit chain: every node appends its records to the fleet's audit
// stream, on its own subject. Each record carries its node's sequence
// number and the SHA-256 of that node's previous record (the whole signed
// message), and is signed, so that Verify can tell a record altered (the
// signature fails), removed (a number is missing) or inserted (a number
// repeats, or the previous hash does not match).
//
// A record is first written to the spool on disk (StateDir/audit/spool,
// one base64 line a record) and its number to StateDir/audit/head; a
// sender sends the spool in order, each with the dedup ID node-seq-hash,
// and drops what the stream has acknowledged (a duplicate only once the
// stream shows it holds that very record). On start, and after any failed
// publish (which may have been stored all the same), it first asks the
// stream's leader for the last record on its subject, and skips the
// spooled records up to it when that record is exactly one of them. So
// records made while the cluster is unreachable wait on disk, bounded,
// and none is lost or sent twice.

// Kinds of audit record the daemon writes.
const (
	AuditOpening       = "opening"
	AuditClosing       = "closing"
	AuditReplayRefused = "replay-refused"
	AuditKeyAdded      = "key-added"
	AuditKeyRevoked    = "key-revoked"
	AuditSong          = "song"
	AuditOrchestra     = "orchestra" // a cue conducted, or played from
)

const kindAudit = "audit"

// An AuditRecord is what happened; the node adds who, when and the chain.
type AuditRecord struct {
	Kind   string `json:"kind"`
	Door   string `json:"door,omitempty"`
	Addr   string `json:"addr,omitempty"`
	User   string `json:"user,omitempty"` // a key's name, never the key
	Detail string `json:"detail,omitempty"`
}

type auditBody struct {
	Seq  uint64 `json:"seq"`
	Prev string `json:"prev"` // hex SHA-256 of the node's previous record; "" before the first
	AuditRecord
}

// ErrAuditFull is returned by Audit when the spool holds its maximum of
// unsent records: the record is not made, and the chain stays whole.
var ErrAuditFull = errors.New("fleet: audit spool full while the cluster is unreachable; record not kept")

type spooled struct {
	seq uint64
	raw []byte
}

type auditLog struct {
	dir  string
	max  int
	sign *signer
	log  *slog.Logger
	wake chan struct{}

	mu      sync.Mutex
	f       *os.File // the spool, appending
	seq     uint64   // the last record made
	prev    string
	pending []spooled
}

func recordHash(raw []byte) string {
	h := sha256.Sum256(raw)
	return hex.EncodeToString(h[:])
}

func openAuditLog(dir string, max int, sign *signer, log *slog.Logger) (*auditLog, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("fleet: audit: %w", err)
	}
	a, good, err := readAuditLog(dir, max, sign, log)
	if err != nil {
		return nil, err
	}
	spool := filepath.Join(dir, "spool")
	if a.f, err = os.OpenFile(spool, os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return nil, fmt.Errorf("fleet: audit: %w", err)
	}
	if err := a.f.Truncate(int64(good)); err != nil {
		a.f.Close()
		return nil, fmt.Errorf("fleet: audit: %w", err)
	}
	if _, err := a.f.Seek(int64(good), 0); err != nil {
		a.f.Close()
		return nil, fmt.Errorf("fleet: audit: %w", err)
	}
	return a, nil
}

// readAuditLog reads the chain's head and spool without changing either:
// a verifier beside a running daemon reads what the daemon has written.
// good is the length of the spool's whole records.
func readAuditLog(dir string, max int, sign *signer, log *slog.Logger) (a *auditLog, good int, err error) {
	a = &auditLog{dir: dir, max: max, sign: sign, log: log, wake: make(chan struct{}, 1)}
	if err := a.readHead(); err != nil {
		return nil, 0, err
	}
	spool := filepath.Join(dir, "spool")
	data, err := os.ReadFile(spool)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, 0, fmt.Errorf("fleet: audit: %w", err)
	}
	recs, good := parseSpool(data)
	if good < len(data) {
		// A crash mid-write leaves a torn last line: that record was never
		// made (its number was not in the head yet, or is re-made below).
		log.Warn("fleet: audit spool: ignoring a torn tail", "file", spool, "bytes", len(data)-good)
	}
	for _, raw := range recs {
		_, b, err := decodeAudit(raw)
		if err != nil {
			return nil, 0, fmt.Errorf("fleet: audit spool %s: %w", spool, err)
		}
		a.pending = append(a.pending, spooled{seq: b.Seq, raw: raw})
		if b.Seq > a.seq {
			a.seq, a.prev = b.Seq, recordHash(raw)
		}
	}
	return a, good, nil
}

// parseSpool returns the records of a spool file and the length of its
// whole, well-formed lines; what follows (a torn or garbled tail) is not
// a record.
func parseSpool(data []byte) (recs [][]byte, good int) {
	for good < len(data) {
		nl := bytes.IndexByte(data[good:], '\n')
		if nl < 0 {
			break
		}
		line := data[good : good+nl]
		if base64.StdEncoding.DecodedLen(len(line)) > MaxMessage {
			break
		}
		raw, err := base64.StdEncoding.DecodeString(string(line))
		if err != nil || len(raw) == 0 {
			break
		}
		if _, _, err := decodeAudit(raw); err != nil {
			break
		}
		recs = append(recs, raw)
		good += nl + 1
	}
	return recs, good
}

// decodeAudit reads an audit message without checking its signature:
// for the node's own spool, and for naming a record that fails it.
func decodeAudit(raw []byte) (header, auditBody, error) {
	var h header
	var b auditBody
	if len(raw) < 64+2 {
		return h, b, errMalformed
	}
	if err := json.Unmarshal(raw[64:], &h); err != nil || h.Kind != kindAudit {
		return h, b, errMalformed
	}
	if err := json.Unmarshal(h.Body, &b); err != nil || b.Seq == 0 {
		return h, b, errMalformed
	}
	return h, b, nil
}

func (a *auditLog) readHead() error {
	data, err := os.ReadFile(filepath.Join(a.dir, "head"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("fleet: audit: %w", err)
	}
	seqText, hash, ok := strings.Cut(strings.TrimSpace(string(data)), " ")
	seq, err := strconv.ParseUint(seqText, 10, 64)
	if !ok || err != nil || len(hash) != 64 {
		return fmt.Errorf("fleet: audit head %s: want \"SEQ HASH\", got %q: the chain cannot go on from it; move it aside to start a new one", filepath.Join(a.dir, "head"), clip(string(data)))
	}
	a.seq, a.prev = seq, hash
	return nil
}

func (a *auditLog) writeHead() error {
	tmp := filepath.Join(a.dir, "head.tmp")
	if err := os.WriteFile(tmp, fmt.Appendf(nil, "%d %s\n", a.seq, a.prev), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(a.dir, "head"))
}

func (a *auditLog) append(rec AuditRecord) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.pending) >= a.max {
		return ErrAuditFull
	}
	body := auditBody{Seq: a.seq + 1, Prev: a.prev, AuditRecord: rec}
	raw, _, err := a.sign.seal(kindAudit, body)
	if err != nil {
		return err
	}
	line := base64.StdEncoding.AppendEncode(nil, raw)
	line = append(line, '\n')
	if _, err := a.f.Write(line); err != nil {
		return fmt.Errorf("fleet: audit spool: %w", err)
	}
	if err := a.f.Sync(); err != nil {
		return fmt.Errorf("fleet: audit spool: %w", err)
	}
	a.seq, a.prev = body.Seq, recordHash(raw)
	if err := a.writeHead(); err != nil {
		return fmt.Errorf("fleet: audit head: %w", err)
	}
	a.pending = append(a.pending, spooled{seq: body.Seq, raw: raw})
	select {
	case a.wake <- struct{}{}:
	default:
	}
	return nil
}

// sent drops the records up to seq from the spool.
func (a *auditLog) sent(seq uint64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	i := 0
	for i < len(a.pending) && a.pending[i].seq <= seq {
		i++
	}
	if i == 0 {
		return nil
	}
	a.pending = a.pending[i:]
	var buf []byte
	for _, p := range a.pending {
		buf = base64.StdEncoding.AppendEncode(buf, p.raw)
		buf = append(buf, '\n')
	}
	tmp := filepath.Join(a.dir, "spool.tmp")
	if err := os.WriteFile(tmp, buf, 0o600); err != nil {
		return fmt.Errorf("fleet: audit spool: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(a.dir, "spool")); err != nil {
		return fmt.Errorf("fleet: audit spool: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(a.dir, "spool"), os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("fleet: audit spool: %w", err)
	}
	a.f.Close()
	a.f = f
	return nil
}

// tells reports whether raw, the last record on this node's subject in
// the stream, numbered seq, may tell the sender how far it got: it is
// exactly one of the records still spooled, or older than all of them
// (then it drops nothing). Anything else is not this node's chain as it
// is on disk: a record numbered 1000 put there by anyone who can publish
// to the stream, or one left by an earlier chain of the same key whose
// state directory was lost; trusting it would drop records from the
// spool that the stream does not hold.
func (a *auditLog) tells(seq uint64, raw []byte) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range a.pending {
		if p.seq == seq {
			return bytes.Equal(p.raw, raw)
		}
	}
	return len(a.pending) > 0 && seq < a.pending[0].seq || len(a.pending) == 0 && seq <= a.seq
}

func (a *auditLog) unsent() []spooled {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]spooled(nil), a.pending...)
}

func (a *auditLog) close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return nil // read only (a verifier)
	}
	return a.f.Close()
}

// Audit appends a record to this node's chain. It is written to disk at
// once and sent to the fleet's stream as soon as the cluster takes it.
func (n *Node) Audit(rec AuditRecord) error {
	if n.verifyOnly {
		return errors.New("fleet: a verify-only node writes no audit records")
	}
	if rec.Kind == "" {
		return errors.New("fleet: an audit record needs a kind")
	}
	return n.audit.append(rec)
}

// AuditPending returns how many audit records wait on disk to be sent.
func (n *Node) AuditPending() int { return len(n.audit.unsent()) }

func (n *Node) sendAudit() {
	defer n.wg.Done()
	subj := n.subject("audit", string(n.sign.id))
	var streamHas uint64
	known := false
	for {
		err := func() error {
			ctx, cancel := context.WithTimeout(n.ctx, 5*n.opTime)
			defer cancel()
			if !known {
				// What the stream already has of ours is not sent again,
				// however long ago it was sent (past the dedup window).
				// The stream's leader answers (the stream does not allow
				// direct gets from replicas, which may lag behind it).
				m, err := n.auditS.GetLastMsgForSubject(ctx, subj)
				switch {
				case errors.Is(err, jetstream.ErrMsgNotFound):
				case err != nil:
					return err
				default:
					if _, b, err := decodeAudit(m.Data); err == nil && n.audit.tells(b.Seq, m.Data) {
						streamHas = b.Seq
					}
				}
				known = true
			}
			for _, p := range n.audit.unsent() {
				if p.seq <= streamHas {
					continue
				}
				ack, err := n.js.Publish(ctx, subj, p.raw,
					jetstream.WithMsgID(auditMsgID(n.sign.id, p)),
					jetstream.WithExpectStream(n.bucket("audit")))
				if err == nil && ack.Duplicate {
					err = n.holdsDuplicate(ctx, p, ack.Sequence)
				}
				if err != nil {
					return errors.Join(err, n.audit.sent(streamHas))
				}
				streamHas = p.seq
			}
			return n.audit.sent(streamHas)
		}()
		if err != nil {
			// A publish that failed (timed out, cut off by Close or a
			// leader change) may still have been stored: learn again
			// from the stream what it has before sending more, rather
			// than count on the dedup window to still cover it.
			known = false
			n.log.Warn("fleet: audit records wait on disk until the cluster takes them", "pending", n.AuditPending(), "err", err)
		}
		wait := time.Duration(0)
		if err != nil {
			wait = time.Second
		}
		select {
		case <-n.ctx.Done():
			return
		case <-n.audit.wake:
		case <-afterOrNever(wait):
		}
	}
}

// auditMsgID is a record's dedup ID: its node and number, and a prefix
// of its hash, which no one can know before the record is published, so
// that no one can take the ID first and have the record acknowledged as
// a duplicate of something else.
func auditMsgID(id NodeID, p spooled) string {
	return string(id) + "-" + strconv.FormatUint(p.seq, 10) + "-" + recordHash(p.raw)[:16]
}

// holdsDuplicate checks a Duplicate acknowledgement of record p: the
// stream's dedup memory says it has p at message seq. Only p itself
// there lets the sender drop it from the spool: otherwise it stays on
// disk and is sent again, as the stream's leader says.
func (n *Node) holdsDuplicate(ctx context.Context, p spooled, seq uint64) error {
	m, err := n.auditS.GetMsg(ctx, seq)
	if err != nil {
		return fmt.Errorf("fleet: audit record %d: the stream calls it a duplicate of message %d, which it cannot show: %w", p.seq, seq, err)
	}
	if !bytes.Equal(m.Data, p.raw) {
		return fmt.Errorf("fleet: audit record %d: the stream calls it a duplicate of message %d, which is another message (published under this record's ID); it stays on disk until the stream's dedup window has passed", p.seq, seq)
	}
	return nil
}

// afterOrNever is time.After(d), or a channel that never fires for d = 0.
func afterOrNever(d time.Duration) <-chan time.Time {
	if d == 0 {
		return nil
	}
	return time.After(d)
}
