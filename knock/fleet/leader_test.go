package fleet

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
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
	// The first request finds the stream electing a leader: one replica
	// says it has none, another answers from its copy. The leader
	// elected answers the next one, after that replica again.
	var mu sync.Mutex
	var reqs [][]byte
	noLeader, _ := json.Marshal(map[string]any{"error": jetstream.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream cluster not available"}})
	if _, err := nc.Subscribe("$JS.API.STREAM.INFO.S", func(m *nats.Msg) {
		mu.Lock()
		reqs = append(reqs, m.Data)
		first := len(reqs) == 1
		mu.Unlock()
		if first {
			m.Respond(noLeader)
			m.Respond(stale)
			return
		}
		m.Respond(stale)
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
	mu.Lock()
	defer mu.Unlock()
	if len(reqs) < 2 {
		t.Errorf("%d requests, want the request sent again after no leader answered", len(reqs))
	}
	for _, req := range reqs {
		if !strings.Contains(string(req), `"deleted_details":true`) {
			t.Errorf("request %q does not ask for the deleted sequences", req)
		}
	}

	// With no leader answering, the wait ends with ctx, and says so.
	short, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	if _, err := nc.Subscribe("$JS.API.STREAM.INFO.T", func(m *nats.Msg) { m.Respond(stale) }); err != nil {
		t.Fatal(err)
	}
	if _, err := streamInfoFromLeader(short, nc, "T", false); err == nil || !strings.Contains(err.Error(), "no answer from its leader") || !strings.Contains(err.Error(), `from a replica: leader "a"`) {
		t.Errorf("with only a replica answering: %v, want no answer from its leader, and the replica's", err)
	}
}
