package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// User keys live in the fleet's users bucket, one key a user, each value
// a signed record. Adding and revoking are both signed puts (a revocation
// is a record with Revoked set), so that a bare delete by someone who
// reached the NATS server can only remove a user — never restore one —
// and a node that restarts reads the revocation like any other record.
// Every node watches the bucket; nothing polls.

const kindUser = "user"

var userRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

type userBody struct {
	Name    string `json:"name"`
	Key     []byte `json:"key,omitempty"`
	Revoked bool   `json:"revoked,omitempty"`
}

type userView struct {
	mu      sync.Mutex
	keys    map[string][]byte
	latest  map[string]int64 // newest record time applied, per user
	changed chan struct{}
}

func newUserView() *userView {
	return &userView{keys: map[string][]byte{}, latest: map[string]int64{}, changed: make(chan struct{}, 1)}
}

// AddUserKey stores a user's key in the fleet: every node sees it within
// moments (see UserKeys). The key is whatever the doors need (a rotating
// door's secret); the bucket is readable by every client of the NATS
// cluster, so that cluster must be closed to others (see docs/fleet.md).
func (n *Node) AddUserKey(ctx context.Context, user string, key []byte) error {
	if len(key) == 0 {
		return fmt.Errorf("fleet: user %q: an empty key", user)
	}
	return n.putUser(ctx, userBody{Name: user, Key: key})
}

// RevokeUserKey takes a user's key away at every node.
func (n *Node) RevokeUserKey(ctx context.Context, user string) error {
	return n.putUser(ctx, userBody{Name: user, Revoked: true})
}

func (n *Node) putUser(ctx context.Context, b userBody) error {
	if !userRE.MatchString(b.Name) {
		return fmt.Errorf("fleet: user name %q: want 1 to 64 letters, digits, '-' or '_'", b.Name)
	}
	msg, _, err := n.sign.seal(kindUser, b)
	if err != nil {
		return err
	}
	// Bounded by the caller, not by OpTimeout: a key change is not on the
	// knock path, and nothing is decided locally when it fails, so it
	// waits out a leader election (a peer just stopped, on a busy
	// machine, takes more than a second) rather than fail to revoke.
	// With no deadline, the JetStream client's own default applies.
	kv, err := n.js.KeyValue(ctx, n.bucket("users"))
	if err != nil {
		return n.degraded("user key", err)
	}
	if _, err := kv.Put(ctx, b.Name, msg); err != nil {
		return n.degraded("user key", err)
	}
	return nil
}

// UserKeys returns the current keys by user name (revoked users are
// absent). The map is the caller's.
func (n *Node) UserKeys() map[string][]byte {
	n.users.mu.Lock()
	defer n.users.mu.Unlock()
	return maps.Clone(n.users.keys)
}

// UserChangedAt is when the newest record applied for user was made (the
// signing node's clock): with the time it took effect here, how long a
// key change took to reach this node. Zero for a user never seen.
func (n *Node) UserChangedAt(user string) time.Time {
	n.users.mu.Lock()
	defer n.users.mu.Unlock()
	t, ok := n.users.latest[user]
	if !ok {
		return time.Time{}
	}
	return time.Unix(0, t)
}

// UserKeysChanged receives a value whenever UserKeys has changed since
// the last receive (signals coalesce: read UserKeys after each).
func (n *Node) UserKeysChanged() <-chan struct{} { return n.users.changed }

func (n *Node) watchUsers(kv jetstream.KeyValue) {
	defer n.wg.Done()
	for n.ctx.Err() == nil {
		// The stream leader's last sequence is what "caught up" means.
		// The watcher's own end-of-initial-values marker is not enough:
		// its consumer may sit on a replica that is still catching up
		// after a restart, and would call the initial values done before
		// it has read a revocation made while this node was down.
		target, err := n.usersLastSeq(kv)
		var w jetstream.KeyWatcher
		if err == nil {
			// History too, so that a record put back later than a newer
			// one (an old signed "add" replayed over a revocation) loses.
			w, err = kv.WatchAll(n.ctx, jetstream.IncludeHistory())
		}
		if err != nil {
			n.log.Warn("fleet: watching user keys, will retry", "err", err)
			if !sleepCtx(n.ctx) {
				return
			}
			continue
		}
		n.consumeUsers(w, target)
		w.Stop()
	}
}

func (n *Node) usersLastSeq(kv jetstream.KeyValue) (uint64, error) {
	ctx, cancel := context.WithTimeout(n.ctx, 5*n.opTime)
	defer cancel()
	// The leader's, not the first answer: that may be this node's own
	// server, just restarted, with its stale copy of the bucket.
	info, err := streamInfoFromLeader(ctx, n.nc, "KV_"+kv.Bucket(), false)
	if err != nil {
		return 0, err
	}
	return info.State.LastSeq, nil
}

func (n *Node) consumeUsers(w jetstream.KeyWatcher, target uint64) {
	var seen uint64
	marker := false
	for {
		select {
		case <-n.ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil {
				marker = true
			} else {
				seen = max(seen, e.Revision())
				n.applyUser(e)
			}
			if marker && seen >= target {
				select {
				case <-n.ready:
				default:
					close(n.ready)
					n.log.Info("fleet: ready", "users", len(n.UserKeys()))
				}
			}
		}
	}
}

func (n *Node) applyUser(e jetstream.KeyValueEntry) {
	v := n.users
	if e.Operation() != jetstream.KeyValuePut {
		v.mu.Lock()
		_, had := v.keys[e.Key()]
		delete(v.keys, e.Key())
		v.mu.Unlock()
		if had {
			n.log.Warn("fleet: a user key was deleted from the bucket rather than revoked", "user", e.Key())
			v.signal()
		}
		return
	}
	env, why, err := openEnvelope(e.Value(), n.trust)
	if err == nil && env.Kind != kindUser {
		why, err = dropKind, errors.New("not a user record")
	}
	var b userBody
	if err == nil {
		if json.Unmarshal(env.Body, &b) != nil || b.Name != e.Key() {
			// A record moved to another user's key is an attack on that user.
			why, err = dropMalformed, fmt.Errorf("record for %q under key %q", b.Name, e.Key())
		}
	}
	if err != nil {
		n.drops[why].Add(1)
		n.log.Warn("fleet: dropped a user key record", "user", e.Key(), "err", err)
		return
	}
	v.mu.Lock()
	if env.Time <= v.latest[b.Name] {
		v.mu.Unlock()
		n.drops[dropStale].Add(1)
		n.log.Warn("fleet: ignored a user key record older than one already applied", "user", b.Name, "by", env.Node)
		return
	}
	v.latest[b.Name] = env.Time
	if b.Revoked {
		delete(v.keys, b.Name)
	} else {
		v.keys[b.Name] = b.Key
	}
	v.mu.Unlock()
	n.log.Info("fleet: user key changed", "user", b.Name, "revoked", b.Revoked, "by", env.Node)
	v.signal()
}

func (v *userView) signal() {
	select {
	case v.changed <- struct{}{}:
	default:
	}
}

// sleepCtx waits a second before a retry, or reports false when ctx ends.
func sleepCtx(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(time.Second):
		return true
	}
}
