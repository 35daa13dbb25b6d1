//go:build !linux

// Command guestinit is the /init of pcspktest's Linux guest; it does
// nothing anywhere else.
package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	fmt.Fprintf(os.Stderr, "guestinit: runs only as the /init of a Linux guest, not on %s\n", runtime.GOOS)
	os.Exit(1)
}
