package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Claim records key as used across the fleet for ttl and reports whether
// this was the first use anywhere. The bucket's create-if-absent is
// atomic in the cluster, so of two nodes claiming one key at once exactly
// one gets first=true.
//
// When the cluster cannot answer within the node's OpTimeout, Claim
// returns first=true with an error wrapping ErrDegraded: the caller then
// decides from its own replay cache alone (and the node has logged the
// degradation), so a node cut off from its peers keeps opening doors.
// Any other error is also degraded: refusing every knock because NATS is
// sick would lock the operator out.
func (n *Node) Claim(ctx context.Context, key string, ttl time.Duration) (first bool, err error) {
	n.mu.Lock()
	kv := n.replayKV
	n.mu.Unlock()
	if kv == nil {
		return true, n.degraded("claim", nil)
	}
	if n.nc.Status() != nats.CONNECTED {
		return true, n.degraded("claim", nats.ErrConnectionClosed)
	}
	// The server's TTLs have a resolution of a second; rounding up keeps
	// a key at least as long as asked.
	ttl = max(time.Second, ttl.Round(time.Second))
	ctx, cancel := context.WithTimeout(ctx, n.opTime)
	defer cancel()
	_, err = kv.Create(ctx, claimKey(key), nil, jetstream.KeyTTL(ttl))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyExists):
		return false, nil
	}
	return true, n.degraded("claim", err)
}

// claimKey maps any caller key to a valid bucket key. Hashing also keeps
// the sequences themselves out of the bucket, which every NATS client of
// the fleet can read.
func claimKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:20])
}
