package fleet

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// streamInfoFromLeader asks for a stream's info and returns the answer of
// the stream's leader. Other servers holding the stream may answer too,
// with their own copy's state, which can lag behind the leader's: a
// server for some seconds after it restarted, when it is the stream's
// preferred leader, and any of them while the stream has no leader. The
// JetStream client takes the first answer, often such a one (an embedded
// server answers in process): a node restarted moments before took a
// stale last sequence for the stream's, and was ready before it had read
// a revocation. This waits for the leader's answer, or ctx's end.
func streamInfoFromLeader(ctx context.Context, nc *nats.Conn, stream string, deleted bool) (*jetstream.StreamInfo, error) {
	sub, err := nc.SubscribeSync(nc.NewRespInbox())
	if err != nil {
		return nil, fmt.Errorf("fleet: stream %s: %w", stream, err)
	}
	defer sub.Unsubscribe()
	var req []byte
	if deleted {
		req = []byte(`{"deleted_details":true}`)
	}
	if err := nc.PublishRequest("$JS.API.STREAM.INFO."+stream, sub.Subject, req); err != nil {
		return nil, fmt.Errorf("fleet: stream %s: %w", stream, err)
	}
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return nil, fmt.Errorf("fleet: stream %s: no answer from its leader: %w", stream, err)
		}
		if len(m.Data) == 0 {
			return nil, fmt.Errorf("fleet: stream %s: no server answers for it (status %q)", stream, m.Header.Get("Status"))
		}
		var resp struct {
			jetstream.StreamInfo
			Error *jetstream.APIError `json:"error"`
		}
		if err := json.Unmarshal(m.Data, &resp); err != nil {
			return nil, fmt.Errorf("fleet: stream %s: malformed info: %w", stream, err)
		}
		if resp.Error != nil {
			return nil, fmt.Errorf("fleet: stream %s: %w", stream, resp.Error)
		}
		if fromLeader(resp.Cluster) {
			return &resp.StreamInfo, nil
		}
	}
}

// fromLeader reports whether stream info with this cluster part is the
// leader's: only the leader says since when it leads. A stream with no
// Raft group (not clustered, or one replica) has one server, which leads.
func fromLeader(ci *jetstream.ClusterInfo) bool {
	return ci == nil || ci.LeaderSince != nil || ci.RaftGroup == "" && ci.Leader != ""
}
