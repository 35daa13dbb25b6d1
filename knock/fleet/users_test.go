package fleet

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestUserKeyChangeWaitsForTheCluster: adding or revoking a key is
// bounded by its caller, not by OpTimeout, the knock path's bound. A
// revocation right after a peer stopped failed in TestCluster/faults
// when the bucket's leader election took more than OpTimeout's second;
// here OpTimeout is shorter than any request can take.
func TestUserKeyChangeWaitsForTheCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server")
	}
	f := newTestFleet(t, 1)
	cfg := f.serving(t, 0)
	opts := f.opts(t, 0)
	opts.OpTimeout = time.Nanosecond
	nd := openNode(t, cfg, opts)
	nc, err := nats.Connect(nd.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Set up (which OpTimeout does not bound) is done when the bucket is.
	var kv jetstream.KeyValue
	for kv == nil {
		if kv, err = js.KeyValue(ctx, nd.bucket("users")); err != nil && ctx.Err() != nil {
			t.Fatalf("the users bucket was never set up: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := nd.AddUserKey(ctx, "carol", []byte("c")); err != nil {
		t.Fatalf("add: %v", err)
	}
	if err := nd.RevokeUserKey(ctx, "carol"); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	e, err := kv.Get(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	env, _, err := openEnvelope(e.Value(), nd.trust)
	if err != nil {
		t.Fatal(err)
	}
	var b userBody
	if err := json.Unmarshal(env.Body, &b); err != nil || b.Name != "carol" || !b.Revoked {
		t.Fatalf("the bucket holds %+v (%v), want carol's revocation", b, err)
	}
}
