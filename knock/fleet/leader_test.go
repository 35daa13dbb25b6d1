package fleet

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestFromLeader(t *testing.T) {
	since := time.Now()
	tests := []struct {
		name string
		ci   *jetstream.ClusterInfo
		want bool
	}{
		{"not clustered, no cluster part", nil, true},
		{"one server, no Raft group", &jetstream.ClusterInfo{Name: "c", Leader: "a"}, true},
		{"the leader", &jetstream.ClusterInfo{RaftGroup: "S-R3F-x", Leader: "a", LeaderSince: &since, Replicas: []*jetstream.PeerInfo{{Name: "b"}, {Name: "c"}}}, true},
		{"a replica that knows the leader", &jetstream.ClusterInfo{RaftGroup: "S-R3F-x", Leader: "a", Replicas: []*jetstream.PeerInfo{{Name: "a"}, {Name: "c"}}}, false},
		{"a replica of a stream with no leader", &jetstream.ClusterInfo{RaftGroup: "S-R3F-x", Replicas: []*jetstream.PeerInfo{{Name: "a"}, {Name: "b"}, {Name: "c"}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fromLeader(tt.ci); got != tt.want {
				t.Errorf("fromLeader = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestStreamInfoFromLeader: a replica answers first with its stale copy's
// state, as a server just restarted does for a stream it is the
// preferred leader of; the leader's answer, later, is the one taken.
// Both are played by this test on a server without JetStream.
func TestStreamInfoFromLeader(t *testing.T) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS server not ready")
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	since := time.Now()
	answer := func(last uint64, ci *jetstream.ClusterInfo) []byte {
		b, err := json.Marshal(jetstream.StreamInfo{State: jetstream.StreamState{LastSeq: last}, Cluster: ci})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	stale := answer(7, &jetstream.ClusterInfo{RaftGroup: "S-R3F-x", Leader: "a", Replicas: []*jetstream.PeerInfo{{Name: "a"}, {Name: "c"}}})
	fresh := answer(16, &jetstream.ClusterInfo{RaftGroup: "S-R3F-x", Leader: "a", LeaderSince: &since, Replicas: []*jetstream.PeerInfo{{Name: "b"}, {Name: "c"}}})
	gotReq := make(chan []byte, 1)
	if _, err := nc.Subscribe("$JS.API.STREAM.INFO.S", func(m *nats.Msg) {
		gotReq <- m.Data
		m.Respond(stale)
		time.Sleep(50 * time.Millisecond)
		m.Respond(fresh)
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := streamInfoFromLeader(ctx, nc, "S", true)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.LastSeq != 16 {
		t.Errorf("last sequence %d, want the leader's 16 (7 is the replica's)", info.State.LastSeq)
	}
	if req := <-gotReq; !strings.Contains(string(req), `"deleted_details":true`) {
		t.Errorf("request %q does not ask for the deleted sequences", req)
	}

	// With no leader answering, the wait ends with ctx, and says so.
	short, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	if _, err := nc.Subscribe("$JS.API.STREAM.INFO.T", func(m *nats.Msg) { m.Respond(stale) }); err != nil {
		t.Fatal(err)
	}
	if _, err := streamInfoFromLeader(short, nc, "T", false); err == nil || !strings.Contains(err.Error(), "no answer from its leader") {
		t.Errorf("with only a replica answering: %v, want no answer from its leader", err)
	}
}
