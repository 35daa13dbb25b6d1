//go:build !linux

package pcspktest

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
)

// Prepare finds qemu and a guest kernel. It needs Debian's apt and dpkg,
// so it is only supported on Linux.
func Prepare(ctx context.Context, logf Logf) (*Machine, error) {
	return nil, fmt.Errorf("%w: preparing qemu and a guest kernel is not supported on %s (it needs Debian's apt-get)", ErrUnavailable, runtime.GOOS)
}

// killWithParent asks for nothing: outside Linux the harness does not run.
func killWithParent() *syscall.SysProcAttr { return nil }
