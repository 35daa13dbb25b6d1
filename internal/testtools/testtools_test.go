package testtools

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

// A command already installed is found without apt-get, root or not.
func TestNeedCommandFindsInstalled(t *testing.T) {
	want, err := exec.LookPath("sh")
	if err != nil {
		t.Skipf("needs sh on PATH: %v", err)
	}
	if got := NeedCommand(t, "sh", "dash"); got != want {
		t.Errorf("NeedCommand(sh) = %q, want %q", got, want)
	}
}

// BuildBinary's program runs, and a second call reuses the first build.
func TestBuildBinaryOnce(t *testing.T) {
	const pkg = "github.com/knockbeep/knockbeep/cmd/beep"
	first := BuildBinary(t, pkg)
	if filepath.Base(first) != "beep" {
		t.Errorf("BuildBinary(%s) = %q, want a program named beep", pkg, first)
	}
	info, err := os.Stat(first)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(first, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "beep") {
		t.Errorf("%s --version = %q, %v; want a version naming beep", first, out, err)
	}
	if again := BuildBinary(t, pkg); again != first {
		t.Errorf("second BuildBinary = %q, want the first build %q", again, first)
	}
	if info2, err := os.Stat(first); err != nil || !info2.ModTime().Equal(info.ModTime()) {
		t.Errorf("the second BuildBinary rebuilt %s (%v)", first, err)
	}
}
