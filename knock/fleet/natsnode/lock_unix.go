//go:build unix

package natsnode

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// storeLockWait bounds the wait for the server before this one, still
// shutting down, to let go of the store.
const storeLockWait = 20 * time.Second

// lockStore makes the store directory and takes its lock, a file in it,
// until the returned function releases it. nats-server takes no lock of
// its own, and a server restarted while the last one still flushes the
// store (the daemon was killed and started again at once) would open it
// beside that one; this one waits for the other to exit instead.
func lockStore(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "knockbeep-nats.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(storeLockWait)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil:
			return func() { f.Close() }, nil
		case !errors.Is(err, unix.EWOULDBLOCK):
			f.Close()
			return nil, fmt.Errorf("locking the store: %s: %w", path, err)
		case time.Now().After(deadline):
			f.Close()
			return nil, fmt.Errorf("the store %s is still in use by another server after %v (it holds %s)", dir, storeLockWait, path)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
