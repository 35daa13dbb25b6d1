package firewall

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// nftBatcher sends nftables element messages over a netlink socket of its
// own, built by hand: google/nftables cannot ask for NLM_F_EXCL (see
// nftSet.addLocked), and its Flush reads each acknowledgement with two
// system calls and allocations, where a batch needs one write and one
// read per message. The kernel handles a batch inside the write that
// carries it, so the acknowledgements are queued before the write
// returns: the reads never wait.
//
// Not safe for concurrent use: nftSet holds its lock around it.
type nftBatcher struct {
	fd  int
	seq uint32 // the last sequence number used

	out   []byte // the batch being built, reused
	in    []byte // the receive buffer
	first uint32 // the batch's first sequence number (its BEGIN)
	acks  int    // the messages in the batch that ask for an acknowledgement
}

// nftAckWait bounds the wait for an acknowledgement the kernel has not
// queued when the write returned (it always has: the wait is a safety net,
// not a path).
const nftAckWait = 5 * time.Second

func newNFTBatcher() (*nftBatcher, error) {
	// Non-blocking, for the reads (see commit); a send to the kernel
	// never waits for room.
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
	if err != nil {
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	// An acknowledgement of an error carries the request's header only,
	// not the whole request: a small receive buffer always holds it.
	// (Before Linux 4.3 the option is missing and the error carries the
	// whole request, a few hundred bytes: the buffer holds that too.)
	unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	return &nftBatcher{fd: fd, in: make([]byte, 16<<10), seq: uint32(time.Now().Unix())}, nil
}

// close closes the socket, once: a second close must not close a
// descriptor number reused since.
func (b *nftBatcher) close() error {
	if b.fd < 0 {
		return nil
	}
	fd := b.fd
	b.fd = -1
	return unix.Close(fd)
}

// begin starts a batch.
func (b *nftBatcher) begin() {
	b.out, b.acks = b.out[:0], 0
	b.first = b.seq + 1
	b.out = b.appendHeader(b.out, unix.NFNL_MSG_BATCH_BEGIN, unix.NLM_F_REQUEST, unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES)
	b.endMsg(0)
}

// elem adds a NEWSETELEM or DELSETELEM message of one element to the
// batch, asking for its acknowledgement. A timeout of zero is left out
// (a deletion has none).
func (b *nftBatcher) elem(msg uint16, flags uint16, family byte, table, set string, key []byte, timeout time.Duration) {
	start := len(b.out)
	b.out = b.appendHeader(b.out, unix.NFNL_SUBSYS_NFTABLES<<8|msg, unix.NLM_F_REQUEST|unix.NLM_F_ACK|flags, family, 0)
	b.out = appendString(b.out, unix.NFTA_SET_ELEM_LIST_TABLE, table)
	b.out = appendString(b.out, unix.NFTA_SET_ELEM_LIST_SET, set)
	elems := len(b.out)
	b.out = appendAttr(b.out, unix.NLA_F_NESTED|unix.NFTA_SET_ELEM_LIST_ELEMENTS, nil)
	item := len(b.out)
	b.out = appendAttr(b.out, unix.NLA_F_NESTED|unix.NFTA_LIST_ELEM, nil)
	keyAt := len(b.out)
	b.out = appendAttr(b.out, unix.NLA_F_NESTED|unix.NFTA_SET_ELEM_KEY, nil)
	b.out = appendAttr(b.out, unix.NFTA_DATA_VALUE, key)
	b.endAttr(keyAt)
	if timeout > 0 {
		var ms [8]byte
		binary.BigEndian.PutUint64(ms[:], uint64(timeout.Milliseconds()))
		b.out = appendAttr(b.out, unix.NFTA_SET_ELEM_TIMEOUT, ms[:])
	}
	b.endAttr(item)
	b.endAttr(elems)
	b.endMsg(start)
	b.acks++
}

// commit ends the batch, sends it and reads the acknowledgements: nil
// when the kernel applied every message, else the first error it gave
// (an Errno: the batch was then applied not at all).
func (b *nftBatcher) commit() error {
	start := len(b.out)
	b.out = b.appendHeader(b.out, unix.NFNL_MSG_BATCH_END, unix.NLM_F_REQUEST, unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES)
	b.endMsg(start)
	last := b.seq
	for {
		// write, not sendto: to the kernel (the socket's default
		// destination) without an address to allocate.
		_, err := unix.Write(b.fd, b.out)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("netlink write: %w", err)
		}
	}
	got := 0
	var failed error
	for got < b.acks {
		n, err := unix.Read(b.fd, b.in)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			if failed != nil {
				// A failed batch need not acknowledge every message;
				// what comes later is from an older batch and ignored.
				return failed
			}
			if err := b.wait(); err != nil {
				return err
			}
			continue
		case err != nil:
			return fmt.Errorf("netlink read: %w", err)
		}
		err = parseNetlinkAcks(b.in[:n], func(seq uint32, errno syscall.Errno) {
			if seq-b.first > last-b.first { // outside [first, last], wrapping included
				return // an answer to an older batch, read late
			}
			got++
			if errno != 0 && failed == nil {
				failed = errno
			}
		})
		if err != nil {
			return fmt.Errorf("netlink: the kernel's answer: %w", err)
		}
	}
	return failed
}

// wait blocks until the socket has something to read, for nftAckWait at
// most.
func (b *nftBatcher) wait() error {
	deadline := time.Now().Add(nftAckWait)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("netlink: no acknowledgement from the kernel within %v", nftAckWait)
		}
		fds := []unix.PollFd{{Fd: int32(b.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(left.Milliseconds())+1)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("netlink poll: %w", err)
		}
		if n > 0 {
			return nil
		}
	}
}

// appendHeader appends a netlink header (its length filled in by endMsg)
// and the nfgenmsg that follows it, with the next sequence number.
func (b *nftBatcher) appendHeader(out []byte, typ uint16, flags uint16, family byte, resID uint16) []byte {
	b.seq++
	out = binary.NativeEndian.AppendUint32(out, 0)
	out = binary.NativeEndian.AppendUint16(out, typ)
	out = binary.NativeEndian.AppendUint16(out, flags)
	out = binary.NativeEndian.AppendUint32(out, b.seq)
	out = binary.NativeEndian.AppendUint32(out, 0) // to the kernel
	out = append(out, family, unix.NFNETLINK_V0)
	return binary.BigEndian.AppendUint16(out, resID)
}

// endMsg fills in the length of the message that starts at start.
func (b *nftBatcher) endMsg(start int) {
	binary.NativeEndian.PutUint32(b.out[start:], uint32(len(b.out)-start))
}

// endAttr fills in the length of the nested attribute that starts at
// start.
func (b *nftBatcher) endAttr(start int) {
	binary.NativeEndian.PutUint16(b.out[start:], uint16(len(b.out)-start))
}

// appendAttr appends a netlink attribute with data, padded to 4 bytes.
func appendAttr(out []byte, typ uint16, data []byte) []byte {
	out = binary.NativeEndian.AppendUint16(out, uint16(unix.SizeofNlAttr+len(data)))
	out = binary.NativeEndian.AppendUint16(out, typ)
	return pad(append(out, data...))
}

// appendString appends a string attribute, NUL-terminated.
func appendString(out []byte, typ uint16, s string) []byte {
	out = binary.NativeEndian.AppendUint16(out, uint16(unix.SizeofNlAttr+len(s)+1))
	out = binary.NativeEndian.AppendUint16(out, typ)
	return pad(append(append(out, s...), 0))
}

func pad(out []byte) []byte {
	for len(out)%unix.NLA_ALIGNTO != 0 {
		out = append(out, 0)
	}
	return out
}

// parseNetlinkAcks reads the netlink messages in b, one read's worth,
// and calls ack with the sequence number and error of each
// acknowledgement (NLMSG_ERROR; errno 0: done). Other messages are
// skipped.
func parseNetlinkAcks(b []byte, ack func(seq uint32, errno syscall.Errno)) error {
	for len(b) > 0 {
		if len(b) < unix.SizeofNlMsghdr {
			return fmt.Errorf("%d bytes left, less than a message header", len(b))
		}
		size := int(binary.NativeEndian.Uint32(b))
		if size < unix.SizeofNlMsghdr || size > len(b) {
			return fmt.Errorf("a message of %d bytes with %d left", size, len(b))
		}
		if binary.NativeEndian.Uint16(b[4:]) == unix.NLMSG_ERROR {
			// struct nlmsgerr: the error, then the request's header.
			body := b[unix.SizeofNlMsghdr:size]
			if len(body) < 4+unix.SizeofNlMsghdr {
				return fmt.Errorf("an acknowledgement of %d bytes, less than an nlmsgerr", len(body))
			}
			code := int32(binary.NativeEndian.Uint32(body))
			if code > 0 {
				return fmt.Errorf("an acknowledgement with a positive error %d", code)
			}
			ack(binary.NativeEndian.Uint32(body[4+8:]), syscall.Errno(-code))
		}
		aligned := (size + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1)
		b = b[min(aligned, len(b)):]
	}
	return nil
}
