package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// An Opening is a fleet door opened at one node for an address.
type Opening struct {
	Door  string
	Addr  netip.Addr
	Until time.Time
	// Node is the node it was opened at; ID is the message's ID, unique
	// per opening, for the log and audit.
	Node NodeID
	ID   string
}

type openingBody struct {
	Door  string     `json:"door"`
	Addr  netip.Addr `json:"addr"`
	Until int64      `json:"until"` // Unix nanoseconds
}

const kindOpening = "opening"

// PublishOpening tells the fleet that door opened here for addr until
// until, in one try: SealOpening and PublishSealed. An unreachable
// cluster is an error wrapping ErrDegraded: the door is open here all the
// same.
func (n *Node) PublishOpening(ctx context.Context, door string, addr netip.Addr, until time.Time) error {
	o, err := n.SealOpening(door, addr, until)
	if err != nil {
		return err
	}
	return n.PublishSealed(ctx, o)
}

// A SealedOpening is an opening signed once, so that every try to publish
// it carries the same message ID: the stream keeps the first copy that
// reaches it, and a try that timed out after the stream had stored it
// never makes a second opening.
type SealedOpening struct {
	msg   []byte
	id    string
	until time.Time
	stale time.Time // from then on the other nodes would drop it as a replay
}

// SealOpening signs the opening of door for addr until until.
func (n *Node) SealOpening(door string, addr netip.Addr, until time.Time) (*SealedOpening, error) {
	if door == "" || !addr.IsValid() {
		return nil, fmt.Errorf("fleet: an opening needs a door name and an address (got %q, %v)", door, addr)
	}
	msg, env, err := n.sign.seal(kindOpening, openingBody{Door: door, Addr: addr, Until: until.UnixNano()})
	if err != nil {
		return nil, err
	}
	// Tries stop well inside the peers' freshness window (a margin for
	// clocks a little apart) and inside the stream's duplicate window
	// (a margin for the last try's own time): past it, a copy of a try
	// the stream stored without telling us would be a second message.
	last := min(n.ver.window*3/4, openingDedup-n.opTime-5*time.Second)
	return &SealedOpening{msg: msg, id: env.ID, until: until, stale: env.time().Add(last)}, nil
}

// Deliverable reports whether a try at t could still open the door at the
// other nodes: the opening has not ended, and they would not yet drop it
// as too old.
func (o *SealedOpening) Deliverable(t time.Time) bool {
	return t.Before(o.until) && t.Before(o.stale)
}

// PublishSealed tries once to put a sealed opening in the fleet's stream.
// An unreachable cluster, or one still choosing the stream's leader, is
// an error wrapping ErrDegraded; the caller may try again with the same
// SealedOpening.
func (n *Node) PublishSealed(ctx context.Context, o *SealedOpening) error {
	n.mu.Lock()
	ready := n.openS != nil
	n.mu.Unlock()
	if !ready {
		return n.degraded("publish opening", nil)
	}
	if n.nc.Status() != nats.CONNECTED {
		return n.degraded("publish opening", nats.ErrConnectionClosed)
	}
	ctx, cancel := context.WithTimeout(ctx, n.opTime)
	defer cancel()
	if _, err := n.js.Publish(ctx, n.subject("open", string(n.sign.id)), o.msg, jetstream.WithMsgID(o.id)); err != nil {
		return n.degraded("publish opening", err)
	}
	return nil
}

// Openings delivers the verified openings of the other trusted nodes, each
// once: the node's durable consumer remembers across restarts what it has
// delivered, and a message is acknowledged before it is handed on, so a
// node that crashes mid-way may miss one opening but never applies one
// twice. Its own openings are not delivered (the daemon has applied
// them), nor ones already past their Until.
func (n *Node) Openings() <-chan Opening { return n.openings }

func (n *Node) handleOpening(m jetstream.Msg) {
	e, err := n.ver.open(m.Data(), kindOpening)
	if err != nil {
		n.log.Warn("fleet: dropped an opening", "subject", m.Subject(), "err", err)
		m.Term()
		return
	}
	var b openingBody
	if err := json.Unmarshal(e.Body, &b); err != nil || b.Door == "" || !b.Addr.IsValid() {
		n.drops[dropMalformed].Add(1)
		n.log.Warn("fleet: dropped an opening with a bad body", "node", e.Node)
		m.Term()
		return
	}
	if e.Node == n.sign.id {
		m.Ack()
		return
	}
	o := Opening{Door: b.Door, Addr: b.Addr, Until: time.Unix(0, b.Until), Node: e.Node, ID: e.ID}
	if !o.Until.After(n.clk.Now()) {
		m.Ack()
		return
	}
	// Acknowledge (and have the server confirm it) before handing the
	// opening on: at most once is the promise, never twice.
	ctx, cancel := context.WithTimeout(n.ctx, n.opTime)
	err = m.DoubleAck(ctx)
	cancel()
	if err != nil {
		n.ver.forget(e)
		n.log.Warn("fleet: could not acknowledge an opening; it will come again", "err", err)
		return
	}
	select {
	case n.openings <- o:
	case <-n.ctx.Done():
	}
}
