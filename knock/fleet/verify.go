package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A Break is one place where the audit chain is not whole.
type Break struct {
	// StreamSeq is the stream message where it was found (0 when the
	// break is a missing tail, found at the end).
	StreamSeq uint64
	Node      NodeID
	// Seq is the node's record number concerned (0 when unknown).
	Seq  uint64
	What string
}

func (b Break) String() string {
	return fmt.Sprintf("stream message %d: node %s record %d: %s", b.StreamSeq, b.Node, b.Seq, b.What)
}

// An AuditReport is what Verify found.
type AuditReport struct {
	Records int               // messages read
	Heads   map[NodeID]uint64 // the last record number of each node
	Breaks  []Break
}

// OK reports whether the chain is whole.
func (r *AuditReport) OK() bool { return len(r.Breaks) == 0 }

func (r *AuditReport) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d records from %d nodes, %d breaks", r.Records, len(r.Heads), len(r.Breaks))
	for _, b := range r.Breaks {
		sb.WriteString("\n  " + b.String())
	}
	return sb.String()
}

type chainPos struct {
	seq  uint64
	hash string // "" when the record at seq could not be trusted
	raws map[uint64]string
}

// Verify walks the whole audit stream and reports every break in every
// node's chain: a record altered (its signature fails), removed (its
// number is missing), inserted (a number repeats or the previous hash
// does not match), a record on another node's subject, and this node's
// own records missing at the end of the stream (records it still has
// unsent on disk do not count as missing).
func (n *Node) Verify(ctx context.Context) (*AuditReport, error) {
	n.mu.Lock()
	s := n.auditS
	n.mu.Unlock()
	if s == nil {
		var err error
		if s, err = n.js.Stream(ctx, n.bucket("audit")); err != nil {
			return nil, fmt.Errorf("fleet: audit stream: %w", err)
		}
	}
	// The leader answers GetMsg, and its answer to Info is told from the
	// others'; the consumer is placed by the server on any replica, which
	// may still be catching up (a server restarted moments ago): it may
	// lack the stream's last messages, or still hold one the leader has
	// deleted. So the leader's list of what the stream holds, taken here,
	// decides what the walk must read, and the consumer serves only as
	// long as it agrees with that list.
	info, err := streamInfoFromLeader(ctx, n.nc, n.bucket("audit"), true)
	if err != nil {
		return nil, fmt.Errorf("fleet: audit stream: %w", err)
	}
	rep := &AuditReport{Heads: map[NodeID]uint64{}}
	if info.State.Msgs == 0 {
		n.checkOwnTail(rep, nil)
		return rep, nil
	}
	held := streamHeld{last: info.State.LastSeq, deleted: make(map[uint64]bool, len(info.State.Deleted))}
	for _, seq := range info.State.Deleted {
		held.deleted[seq] = true
	}
	chains := map[NodeID]*chainPos{}
	prefix := n.subject("audit", "")
	check := func(seq uint64, subject string, data []byte) {
		rep.Records++
		n.checkRecord(rep, chains, seq, NodeID(strings.TrimPrefix(subject, prefix)), data)
	}
	// What the consumer did not deliver as the leader holds it is read
	// from the leader, one message at a time.
	want := n.walkConsumer(ctx, s, held, held.next(info.State.FirstSeq-1), check)
	for ; want != 0; want = held.next(want) {
		m, err := getMsg(ctx, s, want)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // deleted since Info: the walk is of the stream as it was then
		}
		if err != nil {
			return nil, fmt.Errorf("fleet: reading the audit stream: message %d: %w", want, err)
		}
		check(m.Sequence, m.Subject, m.Data)
	}
	for id, c := range chains {
		rep.Heads[id] = c.seq
	}
	n.checkOwnTail(rep, chains)
	return rep, nil
}

// getMsg reads message seq from the stream's leader, again while the
// cluster answers 503 ("JetStream system temporarily unavailable": a
// leader being elected, a server restarted moments ago), until ctx ends.
func getMsg(ctx context.Context, s jetstream.Stream, seq uint64) (*jetstream.RawStreamMsg, error) {
	for {
		m, err := s.GetMsg(ctx, seq)
		var api *jetstream.APIError
		if !errors.As(err, &api) || api.Code != 503 {
			return m, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// streamHeld is the sequences a stream's leader holds: up to last, but
// for those deleted.
type streamHeld struct {
	last    uint64
	deleted map[uint64]bool
}

// next returns the first sequence held after seq, or 0 past the last.
func (h streamHeld) next(seq uint64) uint64 {
	for seq++; seq <= h.last; seq++ {
		if !h.deleted[seq] {
			return seq
		}
	}
	return 0
}

// walkConsumer reads the stream from want on through an ordered consumer
// and checks each message while the consumer delivers exactly what the
// leader holds. It returns 0 when it checked them all, or else the first
// sequence it did not check: the consumer's replica ended early (it lacks
// the rest), delivered a sequence other than the next one held (it holds
// a message the leader deleted, or lacks one), stopped delivering (a pull
// lost while the consumer was placed, on a busy server), or failed. The
// consumer only saves the walk a request a message: whatever it does not
// deliver, the leader does.
func (n *Node) walkConsumer(ctx context.Context, s jetstream.Stream, held streamHeld, want uint64, check func(seq uint64, subject string, data []byte)) uint64 {
	giveUp := func(why string, err error) uint64 {
		n.log.Debug("fleet: audit verify: reading from the stream's leader instead of a consumer", "from", want, "last", held.last, "why", why, "err", err)
		return want
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: want})
	if err != nil {
		return giveUp("no consumer", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return giveUp("no consumer", err)
	}
	defer it.Stop()
	// A replica with nothing from want on delivers nothing at all.
	if ci := cons.CachedInfo(); ci != nil && ci.NumPending == 0 {
		return giveUp("the consumer's replica holds none of it", nil)
	}
	for want != 0 {
		mctx, cancel := context.WithTimeout(ctx, 5*n.opTime)
		m, err := nextMsg(mctx, it)
		cancel()
		if err != nil {
			return giveUp("the consumer stopped delivering", err)
		}
		md, err := m.Metadata()
		if err != nil {
			return giveUp("a message without metadata", err)
		}
		if md.Sequence.Stream != want {
			return giveUp("the consumer's replica differs from the leader", nil)
		}
		check(md.Sequence.Stream, m.Subject(), m.Data())
		want = held.next(want)
		if md.NumPending == 0 && want != 0 {
			return giveUp("the consumer's replica ends early", nil)
		}
	}
	return 0
}

func nextMsg(ctx context.Context, it jetstream.MessagesContext) (jetstream.Msg, error) {
	type res struct {
		m   jetstream.Msg
		err error
	}
	ch := make(chan res, 1)
	go func() {
		m, err := it.Next()
		ch <- res{m, err}
	}()
	select {
	case r := <-ch:
		return r.m, r.err
	case <-ctx.Done():
		it.Stop()
		return nil, ctx.Err()
	}
}

func (n *Node) checkRecord(rep *AuditReport, chains map[NodeID]*chainPos, sseq uint64, subjNode NodeID, raw []byte) {
	brk := func(node NodeID, seq uint64, format string, a ...any) {
		rep.Breaks = append(rep.Breaks, Break{StreamSeq: sseq, Node: node, Seq: seq, What: fmt.Sprintf(format, a...)})
	}
	env, _, err := openEnvelope(raw, n.trust)
	h, b, derr := decodeAudit(raw)
	if err != nil {
		if derr != nil {
			brk(subjNode, 0, "not an audit record (%v): inserted", err)
			return
		}
		switch {
		case errors.Is(err, errUntrusted):
			brk(h.Node, b.Seq, "signed by a key not on the trust list: inserted")
		default:
			brk(h.Node, b.Seq, "%v: altered", err)
		}
		// The record takes its place in the chain, but nothing can be
		// trusted about it, so the next one's previous hash is not checked.
		if c := chains[h.Node]; c != nil && b.Seq == c.seq+1 {
			c.seq, c.hash = b.Seq, ""
		}
		return
	}
	if derr != nil {
		brk(env.Node, 0, "a signed %q message in the audit stream: inserted", env.Kind)
		return
	}
	if env.Node != subjNode {
		brk(env.Node, b.Seq, "on node %s's subject: inserted", subjNode)
		return
	}
	c := chains[env.Node]
	if c == nil {
		c = &chainPos{raws: map[uint64]string{}}
		chains[env.Node] = c
	}
	hash := recordHash(raw)
	switch {
	case b.Seq <= c.seq:
		if c.raws[b.Seq] == hash {
			brk(env.Node, b.Seq, "a second copy of record %d: inserted", b.Seq)
		} else {
			brk(env.Node, b.Seq, "record %d again, after record %d: inserted", b.Seq, c.seq)
		}
		return
	case b.Seq > c.seq+1:
		if c.seq+1 == b.Seq-1 {
			brk(env.Node, b.Seq, "record %d is missing: removed", c.seq+1)
		} else {
			brk(env.Node, b.Seq, "records %d to %d are missing: removed", c.seq+1, b.Seq-1)
		}
	case c.hash != "" && b.Prev != c.hash || c.seq == 0 && b.Prev != "" && b.Seq == 1:
		brk(env.Node, b.Seq, "does not follow record %d (its previous-record hash differs): record %d altered or this one inserted", c.seq, c.seq)
	}
	c.seq, c.hash = b.Seq, hash
	c.raws[b.Seq] = hash
}

// checkOwnTail compares this node's records in the stream with what it
// knows it has written: removing the last records of a chain leaves no
// gap for the walk to find, but the node that wrote them knows.
func (n *Node) checkOwnTail(rep *AuditReport, chains map[NodeID]*chainPos) {
	n.audit.mu.Lock()
	written := n.audit.seq
	firstUnsent := written + 1
	if len(n.audit.pending) > 0 {
		firstUnsent = n.audit.pending[0].seq
	}
	n.audit.mu.Unlock()
	var have uint64
	if c := chains[n.sign.id]; c != nil {
		have = c.seq
	}
	if have+1 < firstUnsent {
		rep.Breaks = append(rep.Breaks, Break{Node: n.sign.id, Seq: have + 1,
			What: fmt.Sprintf("this node wrote records up to %d but the stream ends at %d: removed", firstUnsent-1, have)})
	}
}
