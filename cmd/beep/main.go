// Command beep beeps the PC speaker. It is a drop-in replacement for beep
// 1.4, with the same options and behaviour, that also plays song files
// (--song) and renders WAV files (--wav); run "beep -h" for the options
// and examples.
//
// It refuses to run setuid. It needs write access to the speaker device:
// on Linux the PC speaker's input event node (a udev rule can grant it to
// a group) or, as root, the console /dev/tty0; on FreeBSD /dev/speaker
// (kldload speaker). Ctrl-C, Ctrl-Z, SIGTERM and SIGHUP stop it and
// silence the speaker.
package main

import (
	"context"
	"os"

	"github.com/knockbeep/knockbeep/beeper"
	"github.com/knockbeep/knockbeep/beeper/beepcli"
)

func main() {
	ctx, stop := beeper.SignalContext(context.Background())
	code := beepcli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
