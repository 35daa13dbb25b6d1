//go:build !linux && !freebsd

package client

import "io"

// isTerminal reports false: without a way to ask here, no progress bar is
// safer than escape codes in a log file.
func isTerminal(io.Writer) bool { return false }
