package daemon

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/match"
	"github.com/knockbeep/knockbeep/knock/reply"
	"github.com/knockbeep/knockbeep/knock/source"
)

// answer sends a door with reply = true its answer to the knock that
// completed m: opened, or refused when its source refused the sequence.
// The answer is one UDP datagram from the knocked address and port to
// the last knock's source address and port (package reply), sent off the
// owner. Nothing is sent for a door that does not answer, for a last
// knock that was not a UDP datagram (the client asks for the answer by
// sending it so), or when the knocks come from a file.
func (d *Daemon) answer(door knock.Door, src source.Source, seq source.Sequence, m match.Match, refusal error) {
	r, ok := src.(source.Replier)
	if !ok || m.Event.Proto != knock.UDP || m.Event.SrcPort == 0 || d.capt.Load().FromFile() {
		return
	}
	key, ok := r.ReplyKey(seq)
	if !ok {
		return
	}
	ans := reply.Reply{Status: reply.Opened, Period: seq.ID}
	switch {
	case refusal != nil:
		ans.Status = reply.Refused
	case door.OpenFor > 0 && len(door.Open) > 0:
		ans.Until = m.Event.Time.Add(door.OpenFor)
	case door.StopDelay > 0 && !door.Stop.IsZero():
		ans.Until = m.Event.Time.Add(door.StopDelay)
	}
	data, err := reply.Encode(key, door.Name, ans)
	if err != nil {
		d.log.Error("daemon: cannot encode the answer", "door", door.Name, "err", err)
		return
	}
	from := netip.AddrPortFrom(m.Event.Dst.Unmap(), m.Event.Port)
	to := netip.AddrPortFrom(m.Src.Unmap().WithZone(""), m.Event.SrcPort)
	go func() {
		if err := sendFrom(from, to, data); err != nil {
			d.log.Warn("daemon: the door's answer could not be sent", "door", door.Name, "src", to.Addr(), "from", from, "err", err)
			return
		}
		d.log.Debug("daemon: answered", "door", door.Name, "to", to, "status", ans.Status)
	}()
}

// sendFrom sends one UDP datagram from local to remote: from the knocked
// port, so that it passes the NAT and firewall state the knock made. The
// socket shares the port with any other on it (SO_REUSEADDR), which a
// port in a door's range does not normally have.
func sendFrom(local, remote netip.AddrPort, data []byte) error {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		})
		return errors.Join(err, serr)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	pc, err := lc.ListenPacket(ctx, "udp", local.String())
	if err != nil {
		return err
	}
	defer pc.Close()
	_, err = pc.(*net.UDPConn).WriteToUDPAddrPort(data, remote)
	return err
}
