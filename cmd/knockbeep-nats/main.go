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
	if err := natsnode.DropCapabilities(); err != nil {
		fmt.Fprintf(os.Stderr, "knockbeep-nats: keeping the capabilities it was started with: %v\n", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	status := natsnode.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(status)
}
