// Command knock knocks on a host's ports, as knockd's client does, and
// knocks songs into knockbeepd's music protocol. Run "knock --help".
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/knockbeep/knockbeep/knock/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	status := client.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(status)
}
