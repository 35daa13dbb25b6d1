package natsnode

import (
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DropCapabilities gives up every capability the process was started
// with, on every thread; knockbeep-nats calls it first thing and refuses
// to run when it fails. knockbeepd runs with raw sockets and the
// firewall's capability (ambient, under its systemd unit), and a child
// inherits ambient capabilities; the server needs none of them, and it is
// the part of the fleet that strangers can reach. A build with cgo cannot
// drop them (Go runs a system call on every thread only without cgo): it
// fails here unless it had none to drop.
func DropCapabilities() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var none [2]unix.CapUserData
	_, _, dropErr := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&none[0])), 0)
	// Emptying the permitted and inheritable sets empties the ambient
	// set too; clearing it as well covers a capset that failed.
	syscall.AllThreadsSyscall6(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0, 0)
	if dropErr == 0 {
		return nil
	}
	hdr = unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var held [2]unix.CapUserData
	if err := unix.Capget(&hdr, &held[0]); err != nil {
		return fmt.Errorf("dropping its capabilities: %w; reading them: %w", dropErr, err)
	}
	if held[0].Permitted|held[1].Permitted|held[0].Effective|held[1].Effective != 0 {
		hint := ""
		if dropErr == syscall.ENOTSUP {
			hint = " (a build with cgo cannot: build knockbeep-nats with CGO_ENABLED=0)"
		}
		return fmt.Errorf("dropping its capabilities: %w%s", dropErr, hint)
	}
	return nil
}
