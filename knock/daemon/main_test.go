package daemon

import (
	"context"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"testing"

	"github.com/knockbeep/knockbeep/knock/fleet/fleettest"
)

// daemonEnv, set in the environment, makes the test binary run as
// knockbeepd instead of running tests: the end-to-end tests start it that
// way inside a network namespace ("ip netns exec NS TESTBINARY ARGS"), so
// the daemon under test is this package's code, built with the same flags
// as the tests (the race detector included), without a separate build.
const daemonEnv = "KNOCKBEEPD_TEST_RUN_DAEMON"

func TestMain(m *testing.M) {
	if os.Getenv(daemonEnv) == "1" {
		os.Exit(runAsDaemon())
	}
	code := m.Run()
	fleettest.RemoveServerProgram()
	os.Exit(code)
}

// runAsDaemon is cmd/knockbeepd's main.
func runAsDaemon() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	reload := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			default:
			}
		}
	}()
	// A CPU profile of the daemon under a benchmark's load:
	// KNOCKBEEPD_TEST_CPUPROFILE=FILE go test -bench ...
	if path := os.Getenv("KNOCKBEEPD_TEST_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	return Main(ctx, os.Args[1:], os.Stdout, os.Stderr, reload)
}
