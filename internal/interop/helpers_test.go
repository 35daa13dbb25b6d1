package interop

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/internal/testtools"
)

func TestMain(m *testing.M) { testtools.Main(m) }

// ourBinary builds ./cmd/NAME of this module once per test run and
// returns its path.
func ourBinary(t testing.TB, name string) string {
	t.Helper()
	return testtools.BuildBinary(t, "github.com/knockbeep/knockbeep/cmd/"+name)
}

// writeFile writes a test file, failing the test when it cannot.
func writeFile(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// mkdir makes a directory under parent and returns its path.
func mkdir(t testing.TB, parent, name string) string {
	t.Helper()
	dir := filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// replayBase is the time stamp of a replayed scenario's first packet
// (its second offset is the scenario's alignment).
var replayBase = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// runReplay gives sc's packets to knockbeepd --replay as a pcap file, in
// a directory of its own with sc's knockd.conf, and returns the lines its
// commands wrote.
func runReplay(t *testing.T, sc scenario) []string {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "knockd.conf")
	writeFile(t, conf, sc.conf())
	pcap := filepath.Join(dir, "knocks.pcap")
	if err := writePcap(pcap, replayBase.Add(sc.align), sc.knocks); err != nil {
		t.Fatal(err)
	}
	work := workDir(t, dir, "replay", sc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ourBinary(t, "knockbeepd"), "--replay", pcap, "-c", conf,
		"--speaker", "none", "--state-dir", mkdir(t, dir, "state"), "-v")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), envMark+"=inherited")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("knockbeepd --replay: %v\n%s", err, out)
	}
	if testing.Verbose() {
		t.Logf("knockbeepd --replay said:\n%s", strings.TrimSpace(string(out)))
	}
	return readOpened(work)
}
