package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

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
// a revocation. This waits for the leader's answer, asking again while
// none comes, until ctx ends.
func streamInfoFromLeader(ctx context.Context, nc *nats.Conn, stream string, deleted bool) (*jetstream.StreamInfo, error) {
	answers := make(chan *nats.Msg, 64)
	inbox := nats.NewInbox()
	sub, err := nc.ChanSubscribe(inbox, answers)
	if err != nil {
		return nil, fmt.Errorf("fleet: stream %s: %w", stream, err)
	}
	defer sub.Unsubscribe()
	subject := "$JS.API.STREAM.INFO." + stream
	var req []byte
	if deleted {
		req = []byte(`{"deleted_details":true}`)
	}
	if err := nc.PublishRequest(subject, inbox, req); err != nil {
		return nil, fmt.Errorf("fleet: stream %s: %w", stream, err)
	}
	// A stream electing a leader has none to answer, and the request is
	// not kept for the one elected: ask again until one answers.
	again := time.NewTicker(streamInfoRetry)
	defer again.Stop()
	var last error
	for {
		select {
		case <-ctx.Done():
			if last != nil {
				return nil, fmt.Errorf("fleet: stream %s: no answer from its leader: %w (last answer: %v)", stream, ctx.Err(), last)
			}
			return nil, fmt.Errorf("fleet: stream %s: no answer from its leader: %w", stream, ctx.Err())
		case <-again.C:
			if err := nc.PublishRequest(subject, inbox, req); err != nil {
				return nil, fmt.Errorf("fleet: stream %s: %w", stream, err)
			}
		case m := <-answers:
			if len(m.Data) == 0 {
				last = fmt.Errorf("no server answers for it (status %q)", m.Header.Get("Status"))
				continue
			}
			var resp struct {
				jetstream.StreamInfo
				Error *jetstream.APIError `json:"error"`
			}
			if err := json.Unmarshal(m.Data, &resp); err != nil {
				last = fmt.Errorf("malformed info: %w", err)
				continue
			}
			if resp.Error != nil {
				if resp.Error.ErrorCode == jetstream.JSErrCodeStreamNotFound {
					return nil, fmt.Errorf("fleet: stream %s: %w", stream, resp.Error)
				}
				// A replica's "no leader now" while the leader may yet answer.
				last = resp.Error
				continue
			}
			if fromLeader(resp.Cluster) {
				return &resp.StreamInfo, nil
			}
			last = fmt.Errorf("from a replica: leader %q", resp.Cluster.Leader)
		}
	}
}

// streamInfoRetry is how often streamInfoFromLeader asks again.
const streamInfoRetry = 500 * time.Millisecond

// fromLeader reports whether stream info with this cluster part is the
// leader's: only the leader says since when it leads. A stream with no
// Raft group (not clustered, or one replica) has one server, which leads.
func fromLeader(ci *jetstream.ClusterInfo) bool {
	return ci == nil || ci.LeaderSince != nil || ci.RaftGroup == "" && ci.Leader != ""
}
