//go:build !linux

package natsnode

// DropCapabilities has nothing to drop where capabilities are not
// inherited the way Linux's ambient set is.
func DropCapabilities() error { return nil }
