// Command knockbeepd is the knock daemon: it captures port knocks, plays
// the songs knocked into its music doors and runs the commands of its
// command doors. Run "knockbeepd --help", or "sudo knockbeepd --demo".
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/knockbeep/knockbeep/knock/daemon"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	reload := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			default: // a reload is already pending: it reads the newest file
			}
		}
	}()
	status := daemon.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, reload)
	stop()
	os.Exit(status)
}
