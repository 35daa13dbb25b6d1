package natsnode

import (
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DropCapabilities gives up every capability the process was started
// with, on every thread; knockbeep-nats calls it first thing. knockbeepd
// runs with raw sockets and the firewall's capability (ambient, under its
// systemd unit), and a child inherits ambient capabilities; the server
// needs none of them, and it is the part of the fleet that strangers can
// reach. It fails (ENOTSUP) in a build with cgo, where Go cannot run a
// system call on every thread.
func DropCapabilities() error {
	if _, _, errno := syscall.AllThreadsSyscall6(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0, 0); errno != 0 {
		return fmt.Errorf("clearing the ambient capabilities: %w", errno)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var none [2]unix.CapUserData
	if _, _, errno := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&none[0])), 0); errno != 0 {
		return fmt.Errorf("dropping the capabilities: %w", errno)
	}
	return nil
}
