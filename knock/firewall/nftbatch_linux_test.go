package firewall

import (
	"encoding/binary"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// nlMsg is a netlink message of type typ and sequence seq with body.
func nlMsg(typ uint16, seq uint32, body []byte) []byte {
	b := binary.NativeEndian.AppendUint32(nil, uint32(unix.SizeofNlMsghdr+len(body)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, 0)
	b = binary.NativeEndian.AppendUint32(b, seq)
	b = binary.NativeEndian.AppendUint32(b, 0)
	b = append(b, body...)
	for len(b)%unix.NLMSG_ALIGNTO != 0 {
		b = append(b, 0)
	}
	return b
}

// nlAck is the kernel's acknowledgement of request seq with error code
// (0 or a negative errno), capped (NETLINK_CAP_ACK): the request's header
// only.
func nlAck(seq uint32, code int32) []byte {
	body := binary.NativeEndian.AppendUint32(nil, uint32(code))
	return nlMsg(unix.NLMSG_ERROR, 1, append(body, nlMsg(unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_NEWSETELEM, seq, nil)...))
}

type ackSeen struct {
	seq   uint32
	errno syscall.Errno
}

var netlinkAckTests = []struct {
	name    string
	in      []byte
	want    []ackSeen
	wantErr string
}{
	{"done", nlAck(7, 0), []ackSeen{{7, 0}}, ""},
	{"refused", nlAck(8, -int32(unix.EEXIST)), []ackSeen{{8, unix.EEXIST}}, ""},
	{"two in one read", append(nlAck(9, 0), nlAck(10, -int32(unix.ENOENT))...), []ackSeen{{9, 0}, {10, unix.ENOENT}}, ""},
	{"other messages skipped", append(nlMsg(unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_NEWGEN, 3, []byte{2, 0, 0, 0}), nlAck(11, 0)...), []ackSeen{{11, 0}}, ""},
	{"empty", nil, nil, ""},
	{"short header", nlAck(7, 0)[:10], nil, "less than a message header"},
	{"length past the end", nlAck(7, 0)[:30], nil, "a message of 36 bytes with 30 left"},
	{"length below a header", append(binary.NativeEndian.AppendUint32(nil, 8), make([]byte, 12)...), nil, "a message of 8 bytes"},
	{"ack without the request", nlMsg(unix.NLMSG_ERROR, 1, []byte{0, 0, 0, 0}), nil, "less than an nlmsgerr"},
	{"positive error", nlAck(7, 5), nil, "positive error 5"},
	{"good then truncated", append(nlAck(7, 0), 1, 2, 3), []ackSeen{{7, 0}}, "less than a message header"},
}

func TestParseNetlinkAcks(t *testing.T) {
	for _, tt := range netlinkAckTests {
		t.Run(tt.name, func(t *testing.T) {
			var got []ackSeen
			err := parseNetlinkAcks(tt.in, func(seq uint32, errno syscall.Errno) { got = append(got, ackSeen{seq, errno}) })
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("acks %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzParseNetlinkAcks(f *testing.F) {
	for _, tt := range netlinkAckTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		parseNetlinkAcks(b, func(uint32, syscall.Errno) { n++ })
		// Each acknowledgement takes a header, an error and the
		// request's header: more would be read past the messages.
		if n*(2*unix.SizeofNlMsghdr+4) > len(b) {
			t.Fatalf("%d acks from %d bytes", n, len(b))
		}
	})
}
