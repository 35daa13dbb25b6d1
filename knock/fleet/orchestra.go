package fleet

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// The orchestra: a conductor publishes a cue — a song, which node plays
// which voice, and a start instant a little in the future on the
// conductor's clock — and every node with a voice answers with a signed
// acknowledgement. Before answering, a node measures the conductor's
// clock against its own (three signed time requests, the one with the
// shortest round trip wins, as NTP does), so that its local start is the
// conductor's instant even when its own clock is off. The error of that
// estimate is at most half the round trip, which Cue reports.

const (
	kindCue  = "cue"
	kindAck  = "cue-ack"
	kindTime = "time"
)

// A Cue tells a node when to play its voice of a song.
type Cue struct {
	ID        string
	Song      string
	Voices    map[string]NodeID // voice name → the node that plays it
	Conductor NodeID
	// Start is the instant on the conductor's clock; LocalStart is the
	// same instant on this node's clock (Options.Clock), which is when
	// this node starts.
	Start      time.Time
	LocalStart time.Time
	// Voice is this node's voice ("" when it has none: such a node gets
	// no cue).
	Voice string
	// RTT is the round trip of the clock measurement used; LocalStart is
	// within RTT/2 of the conductor's instant.
	RTT time.Duration
}

type cueBody struct {
	ID     string            `json:"id"`
	Song   string            `json:"song"`
	Voices map[string]NodeID `json:"voices"`
	Start  int64             `json:"start"`
}

type ackBody struct {
	Cue string `json:"cue"`
}

type timeBody struct {
	Nonce string `json:"nonce"`
	Now   int64  `json:"now"`
}

// Conduct cues song with voices (voice → node) to start lead from now on
// this node's clock, and waits until every node with a voice has
// acknowledged or ctx ends. It returns the cue and the nodes that
// acknowledged; an error says which did not.
func (n *Node) Conduct(ctx context.Context, song string, voices map[string]NodeID, lead time.Duration) (Cue, []NodeID, error) {
	if len(voices) == 0 {
		return Cue{}, nil, errors.New("fleet: conduct: no voices")
	}
	want := map[NodeID]bool{}
	for v, id := range voices {
		if _, ok := n.trust.Trusted(id); !ok {
			return Cue{}, nil, fmt.Errorf("fleet: conduct: voice %q: node %s is not on the trust list", v, id)
		}
		want[id] = true
	}
	var idb [12]byte
	rand.Read(idb[:])
	start := n.clk.Now().Add(lead)
	body := cueBody{ID: b64.EncodeToString(idb[:]), Song: song, Voices: voices, Start: start.UnixNano()}
	msg, _, err := n.sign.seal(kindCue, body)
	if err != nil {
		return Cue{}, nil, err
	}
	inbox := nats.NewInbox()
	acks := make(chan NodeID, len(want))
	sub, err := n.nc.Subscribe(inbox, func(m *nats.Msg) {
		e, err := n.ver.open(m.Data, kindAck)
		if err != nil {
			n.log.Warn("fleet: dropped a cue acknowledgement", "err", err)
			return
		}
		var a ackBody
		if json.Unmarshal(e.Body, &a) == nil && a.Cue == body.ID {
			acks <- e.Node
		}
	})
	if err != nil {
		return Cue{}, nil, n.degraded("conduct", err)
	}
	defer sub.Unsubscribe()
	if err := n.nc.PublishMsg(&nats.Msg{Subject: n.subject("cue"), Reply: inbox, Data: msg}); err != nil {
		return Cue{}, nil, n.degraded("conduct", err)
	}
	cue := Cue{ID: body.ID, Song: song, Voices: voices, Conductor: n.sign.id, Start: start}
	var got []NodeID
	for len(want) > 0 {
		select {
		case id := <-acks:
			if want[id] {
				delete(want, id)
				got = append(got, id)
			}
		case <-ctx.Done():
			var missing []NodeID
			for id := range want {
				missing = append(missing, id)
			}
			return cue, got, fmt.Errorf("fleet: conduct: no acknowledgement from %v: %w", missing, ctx.Err())
		}
	}
	return cue, got, nil
}

// Cues delivers the cues that give this node a voice, with the start
// instant on this node's clock.
func (n *Node) Cues() <-chan Cue { return n.cues }

// serveTime answers other nodes' requests for this node's clock.
func (n *Node) serveTime() error {
	_, err := n.nc.Subscribe(n.subject("time", string(n.sign.id)), func(m *nats.Msg) {
		var req timeBody
		if m.Reply == "" || len(m.Data) > 64 || json.Unmarshal(m.Data, &req) != nil || req.Nonce == "" {
			n.drops[dropMalformed].Add(1)
			return
		}
		msg, _, err := n.sign.seal(kindTime, timeBody{Nonce: req.Nonce, Now: n.clk.Now().UnixNano()})
		if err == nil {
			m.Respond(msg)
		}
	})
	if err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	return nil
}

func (n *Node) listenCues() error {
	_, err := n.nc.Subscribe(n.subject("cue"), func(m *nats.Msg) {
		e, err := n.ver.open(m.Data, kindCue)
		if err != nil {
			n.log.Warn("fleet: dropped a cue", "err", err)
			return
		}
		var b cueBody
		if json.Unmarshal(e.Body, &b) != nil || b.ID == "" {
			n.drops[dropMalformed].Add(1)
			return
		}
		voice := ""
		for v, id := range b.Voices {
			if id == n.sign.id {
				voice = v
			}
		}
		if voice == "" {
			return
		}
		// Measuring takes round trips: do it off the subscription's
		// goroutine, which delivers the other cues.
		go n.answerCue(e, b, voice, m.Reply)
	})
	if err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	return nil
}

func (n *Node) answerCue(e envelope, b cueBody, voice, reply string) {
	offset, rtt, err := n.measure(e.Node)
	if err != nil {
		n.log.Warn("fleet: cannot measure the conductor's clock; trusting ours", "conductor", e.Node, "err", err)
	}
	start := time.Unix(0, b.Start)
	cue := Cue{ID: b.ID, Song: b.Song, Voices: b.Voices, Conductor: e.Node, Start: start,
		LocalStart: start.Add(-offset), Voice: voice, RTT: rtt}
	if reply != "" {
		if msg, _, err := n.sign.seal(kindAck, ackBody{Cue: b.ID}); err == nil {
			n.nc.Publish(reply, msg)
		}
	}
	select {
	case n.cues <- cue:
	case <-n.ctx.Done():
	}
}

// measure returns how far the other node's clock is ahead of ours, and
// the round trip of the best of three measurements.
func (n *Node) measure(other NodeID) (offset, rtt time.Duration, err error) {
	if other == n.sign.id {
		return 0, 0, nil
	}
	rtt = -1
	for range 3 {
		var nb [9]byte
		rand.Read(nb[:])
		nonce := b64.EncodeToString(nb[:])
		req, _ := json.Marshal(timeBody{Nonce: nonce})
		t0 := n.clk.Now()
		m, rerr := n.nc.Request(n.subject("time", string(other)), req, n.opTime)
		t2 := n.clk.Now()
		if rerr != nil {
			err = rerr
			continue
		}
		e, _, oerr := openEnvelope(m.Data, n.trust)
		var tb timeBody
		if oerr != nil || e.Kind != kindTime || e.Node != other || json.Unmarshal(e.Body, &tb) != nil || tb.Nonce != nonce {
			n.drops[dropSignature].Add(1)
			err = errors.New("a time answer that is not the conductor's")
			continue
		}
		if d := t2.Sub(t0); rtt < 0 || d < rtt {
			rtt = d
			mid := t0.Add(d / 2)
			offset = time.Unix(0, tb.Now).Sub(mid)
		}
	}
	if rtt < 0 {
		return 0, 0, err
	}
	return offset, rtt, nil
}
