//go:build !unix

package natsnode

import "os"

// lockStore makes the store directory; there is no flock(2) to take.
func lockStore(dir string) (func(), error) {
	return func() {}, os.MkdirAll(dir, 0o700)
}
