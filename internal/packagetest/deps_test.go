package packagetest

import (
	"os/exec"
	"strings"
	"testing"
)

// The programs other than knockbeep-nats never link the NATS server: its
// init starts a timer that reads /proc every second, which cost the idle
// daemon about 4 CPU-seconds an hour when it was linked in (the fleet
// runs the server as a child process instead), and knock and beep have no
// use for it.
func TestOnlyTheServerProgramLinksNATSServer(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command to list the programs' packages")
	}
	for _, prog := range []string{"knockbeepd", "knock", "beep", "knockbeep-nats"} {
		out, err := exec.Command("go", "list", "-deps", "github.com/knockbeep/knockbeep/cmd/"+prog).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps cmd/%s: %v\n%s", prog, err, out)
		}
		links := strings.Contains(string(out), "github.com/nats-io/nats-server/v2/server\n")
		if links != (prog == "knockbeep-nats") {
			t.Errorf("cmd/%s links github.com/nats-io/nats-server/v2/server: %v", prog, links)
		}
	}
}
