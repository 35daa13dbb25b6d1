package daemon

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// watchAddrs signals on changed whenever this host's addresses may have
// changed, until ctx ends: a netlink socket subscribed to the kernel's
// address notifications, so that the daemon need not list the addresses
// every second to follow them, and can sleep while nothing arrives. ok is
// false when the socket cannot be had; the caller then lists them on
// every tick, as they do once the watch fails and closes changed.
func watchAddrs(ctx context.Context, log *slog.Logger) (changed <-chan struct{}, ok bool) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err == nil {
		err = unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_IPV4_IFADDR | unix.RTMGRP_IPV6_IFADDR})
		if err != nil {
			unix.Close(fd)
		}
	}
	if err != nil {
		log.Warn("daemon: cannot watch this host's addresses; listing them every second instead", "err", err)
		return nil, false
	}
	// Non-blocking: os.NewFile hands it to Go's network poller, so the
	// watch holds no thread and a read deadline ends it.
	f := os.NewFile(uintptr(fd), "netlink:addresses")
	c := make(chan struct{}, 1)
	stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Unix(1, 0)) })
	go func() {
		defer stop()
		defer f.Close()
		buf := make([]byte, 32<<10)
		for {
			_, err := f.Read(buf)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil && !errors.Is(err, unix.ENOBUFS): // ENOBUFS: notifications were lost
				log.Warn("daemon: watching this host's addresses failed; listing them every second instead", "err", err)
				close(c)
				return
			}
			// Whatever the message, the list is read again: it is short.
			notify(c)
		}
	}()
	return c, true
}
