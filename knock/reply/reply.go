package reply

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/knockbeep/knockbeep/knock/portlang"
)

// Purpose is the port language purpose of a reply's tag.
const Purpose = "reply"

// magic starts every reply: "KBR" and the format's version.
var magic = [4]byte{'K', 'B', 'R', 1}

// Size is a reply's length in bytes: magic, status, until, period, tag.
const Size = 4 + 1 + 8 + 8 + tagSize

const tagSize = 16

// A Status is what became of a knock.
type Status uint8

// The statuses.
const (
	Opened  Status = 1 // the door opened (or was already open) for the knocker
	Refused Status = 2 // the sequence was used before: a replay, or a second knocker in its period
)

func (s Status) String() string {
	switch s {
	case Opened:
		return "opened"
	case Refused:
		return "refused"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// A Reply is the answer to one completed knock.
type Reply struct {
	Status Status
	// Until is when the opening ends (the firewall set's timeout, or when
	// the stop command runs); zero when the door does not say.
	Until time.Time
	// Period is the period of the sequence that was knocked.
	Period int64
}

// Encode returns r as sent for door under key.
func Encode(key []byte, door string, r Reply) ([]byte, error) {
	b := make([]byte, 0, Size)
	b = append(b, magic[:]...)
	b = append(b, byte(r.Status))
	var until uint64
	if !r.Until.IsZero() {
		until = uint64(r.Until.Unix())
	}
	b = binary.BigEndian.AppendUint64(b, until)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Period))
	tag, err := tagOf(key, door, r.Period, b)
	if err != nil {
		return nil, err
	}
	return append(b, tag...), nil
}

// tagOf is the first 16 bytes of HMAC-SHA256(key, M(reply, door, period)
// || body).
func tagOf(key []byte, door string, period int64, body []byte) ([]byte, error) {
	msg, err := portlang.Message(portlang.Params{Purpose: Purpose, Name: door, Period: period})
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(msg)
	mac.Write(body)
	return mac.Sum(nil)[:tagSize], nil
}

// ErrNotReply refuses a datagram that is not a reply of this door under
// this key: another format, cut short, or a tag that does not match
// (forged, altered, or another key or door).
var ErrNotReply = errors.New("reply: not an authentic reply of this door")

// Parse reads a reply to a knock of door in period, checking its tag in
// constant time. A reply for another period is refused: an old answer
// replayed to a new knock says nothing of it.
func Parse(key []byte, door string, period int64, data []byte) (Reply, error) {
	if len(data) != Size || [4]byte(data[:4]) != magic {
		return Reply{}, fmt.Errorf("%w (%d bytes)", ErrNotReply, len(data))
	}
	body, tag := data[:Size-tagSize], data[Size-tagSize:]
	r := Reply{Status: Status(body[4]), Period: int64(binary.BigEndian.Uint64(body[13:21]))}
	want, err := tagOf(key, door, r.Period, body)
	if err != nil {
		return Reply{}, err
	}
	if !hmac.Equal(tag, want) {
		return Reply{}, ErrNotReply
	}
	if r.Period != period {
		return Reply{}, fmt.Errorf("%w: it answers period %d, the knock was in %d", ErrNotReply, r.Period, period)
	}
	if r.Status != Opened && r.Status != Refused {
		return Reply{}, fmt.Errorf("reply: unknown status %d", body[4])
	}
	if until := binary.BigEndian.Uint64(body[5:13]); until != 0 {
		r.Until = time.Unix(int64(until), 0)
	}
	return r, nil
}
