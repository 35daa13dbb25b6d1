// Command knockbeep-nats is the fleet's embedded NATS server with
// JetStream. knockbeepd starts it when its [cluster] table says serve and
// stops it with itself; it is not meant to be run by hand.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/knockbeep/knockbeep/knock/fleet/natsnode"
)

func main() {
	// The server faces the network: it runs with no capabilities or not
	// at all.
	if err := natsnode.DropCapabilities(); err != nil {
		fmt.Fprintf(os.Stderr, "knockbeep-nats: %v\n", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	status := natsnode.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Exit)
	stop()
	os.Exit(status)
}
