package interop

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// debianConf is Debian's shipped /etc/knockd.conf (knockd 0.8-2), kept by
// package config as test data.
var debianConf = filepath.Join("..", "..", "knock", "config", "testdata", "debian-knockd.conf")

// TestDebianKnockdConfChecks: knockbeepd --check accepts Debian's
// knockd.conf unchanged and finds its three doors.
func TestDebianKnockdConfChecks(t *testing.T) {
	out, err := exec.Command(ourBinary(t, "knockbeepd"), "--check", "-c", debianConf).CombinedOutput()
	if err != nil {
		t.Fatalf("knockbeepd --check -c %s: %v, want exit status 0\n%s", debianConf, err, out)
	}
	for _, door := range []string{"openSSH", "closeSSH", "openHTTPS"} {
		if !strings.Contains(string(out), `name = "`+door+`"`) {
			t.Errorf("knockbeepd --check does not show door %q:\n%s", door, out)
		}
	}
}
