package fleet

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Every fleet message is an envelope: the node's Ed25519 signature (64
// bytes) followed by a JSON header that carries the kind, the signing
// node, the time, a random ID and the body. The signature covers a domain
// prefix and the header bytes exactly as sent, so there is no
// canonical-form question: a verifier checks the bytes it received.
const (
	sigDomain = "knockbeep-fleet-v1\x00"
	// MaxMessage is the largest envelope accepted. Every kind of fleet
	// message is far smaller; anything larger is dropped unread.
	MaxMessage = 16 << 10
)

type header struct {
	V    int             `json:"v"`
	Kind string          `json:"kind"`
	Node NodeID          `json:"node"`
	Time int64           `json:"time"` // Unix nanoseconds, the sender's clock
	ID   string          `json:"id"`
	Body json.RawMessage `json:"body"`
}

// An envelope is a verified message.
type envelope struct {
	header
	raw []byte // the signed bytes, as received (the audit chain hashes them)
}

func (e envelope) time() time.Time { return time.Unix(0, e.Time) }

// Why a message was dropped: each has a counter in Stats.
const (
	dropMalformed = iota // not an envelope: garbage, truncated, bad JSON
	dropOversized
	dropUntrusted // signed by a key not on the trust list
	dropSignature // the signature does not match (forged or altered)
	dropStale     // older than the freshness window, or from the future
	dropReplayed  // an ID already seen inside the window
	dropKind      // a valid envelope of another kind on this subject
	dropCount
)

var dropNames = [dropCount]string{"malformed", "oversized", "untrusted", "signature", "stale", "replayed", "kind"}

// Stats counts the messages a node dropped, by reason (dropping never
// stops anything: a bad message is counted and the next one is read), and
// the restarts of its embedded server.
type Stats struct {
	Dropped        map[string]uint64
	ServerRestarts uint64 // the embedded server started again after it died
}

type signer struct {
	key ed25519.PrivateKey
	id  NodeID
	now func() time.Time
}

func newSigner(key ed25519.PrivateKey, now func() time.Time) *signer {
	return &signer{key: key, id: ID(key.Public().(ed25519.PublicKey)), now: now}
}

// seal makes an envelope of kind around body.
func (s *signer) seal(kind string, body any) ([]byte, envelope, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, envelope{}, fmt.Errorf("fleet: encoding %s: %w", kind, err)
	}
	var idb [12]byte
	rand.Read(idb[:])
	h := header{V: 1, Kind: kind, Node: s.id, Time: s.now().UnixNano(), ID: b64.EncodeToString(idb[:]), Body: b}
	hb, err := json.Marshal(h)
	if err != nil {
		return nil, envelope{}, fmt.Errorf("fleet: encoding %s: %w", kind, err)
	}
	msg := make([]byte, 0, ed25519.SignatureSize+len(hb))
	msg = append(msg, ed25519.Sign(s.key, signedBytes(hb))...)
	msg = append(msg, hb...)
	if len(msg) > MaxMessage {
		return nil, envelope{}, fmt.Errorf("fleet: %s message of %d bytes is over the %d-byte limit", kind, len(msg), MaxMessage)
	}
	return msg, envelope{header: h, raw: msg}, nil
}

func signedBytes(hb []byte) []byte {
	return append([]byte(sigDomain), hb...)
}

var (
	errMalformed = errors.New("fleet: malformed message")
	errOversized = errors.New("fleet: message too large")
	errUntrusted = errors.New("fleet: signed by a key not on the trust list")
	errSignature = errors.New("fleet: signature does not match")
)

// openEnvelope checks a message's size, form, signer and signature. It
// does not judge freshness: that is the verifier's, since audit records
// are legitimately old when verified.
func openEnvelope(msg []byte, trust *Trust) (envelope, int, error) {
	if len(msg) > MaxMessage {
		return envelope{}, dropOversized, errOversized
	}
	if len(msg) < ed25519.SignatureSize+2 {
		return envelope{}, dropMalformed, errMalformed
	}
	sig, hb := msg[:ed25519.SignatureSize], msg[ed25519.SignatureSize:]
	var h header
	dec := json.NewDecoder(bytes.NewReader(hb))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil || dec.More() || h.V != 1 || h.Kind == "" || h.ID == "" {
		return envelope{}, dropMalformed, errMalformed
	}
	pub, err := b64.DecodeString(string(h.Node))
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return envelope{}, dropMalformed, errMalformed
	}
	if _, ok := trust.Trusted(h.Node); !ok {
		return envelope{}, dropUntrusted, errUntrusted
	}
	if !ed25519.Verify(pub, signedBytes(hb), sig) {
		return envelope{}, dropSignature, errSignature
	}
	return envelope{header: h, raw: msg}, 0, nil
}

// A verifier checks live messages (openings, cues): the envelope, the
// kind, that the time is inside the freshness window, and that the ID has
// not been seen inside it. A message captured off the wire and sent again
// later is stale; sent again at once, it is a repeated ID.
type verifier struct {
	trust  *Trust
	now    func() time.Time
	window time.Duration
	drops  *[dropCount]atomic.Uint64

	mu   sync.Mutex
	seen map[string]time.Time
}

func newVerifier(trust *Trust, now func() time.Time, window time.Duration, drops *[dropCount]atomic.Uint64) *verifier {
	return &verifier{trust: trust, now: now, window: window, drops: drops, seen: map[string]time.Time{}}
}

// open returns the verified envelope, or counts the drop and returns an
// error saying why.
func (v *verifier) open(msg []byte, kind string) (envelope, error) {
	e, why, err := openEnvelope(msg, v.trust)
	if err == nil && e.Kind != kind {
		why, err = dropKind, fmt.Errorf("fleet: a %q message where %q was expected", e.Kind, kind)
	}
	if err == nil {
		why, err = v.fresh(e)
	}
	if err != nil {
		v.drops[why].Add(1)
		return envelope{}, err
	}
	return e, nil
}

func (v *verifier) fresh(e envelope) (int, error) {
	now := v.now()
	t := e.time()
	if t.Before(now.Add(-v.window)) || t.After(now.Add(v.window)) {
		return dropStale, fmt.Errorf("fleet: message time %s is outside the %s window around now", t.UTC().Format(time.RFC3339Nano), v.window)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	key := string(e.Node) + "/" + e.ID
	if _, dup := v.seen[key]; dup {
		return dropReplayed, errors.New("fleet: message ID seen before")
	}
	// Forget what has left the window: a repeat of it is stale by now.
	if len(v.seen) > 1024 {
		for k, at := range v.seen {
			if at.Before(now.Add(-v.window)) {
				delete(v.seen, k)
			}
		}
	}
	v.seen[key] = t
	return 0, nil
}

// forget un-sees a message whose handling failed, so that its redelivery
// is accepted.
func (v *verifier) forget(e envelope) {
	v.mu.Lock()
	delete(v.seen, string(e.Node)+"/"+e.ID)
	v.mu.Unlock()
}
