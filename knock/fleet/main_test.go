package fleet

import (
	"os"
	"testing"

	"github.com/knockbeep/knockbeep/knock/fleet/fleettest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	fleettest.RemoveServerProgram()
	os.Exit(code)
}
