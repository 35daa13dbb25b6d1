package daemon

import (
	"path/filepath"
	"testing"
	"time"
)

// A capture file is read in step with the owner: a knock on a one-time
// door's next line, right after the line before opened it, meets the
// filter that the opening left (the next line's ports), as it would live,
// and is not dropped by the filter of the moment the file was read.
func TestFileReadInStepWithTheOwner(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "seqs"), " 7000\n 7001\n 7002\n")
	cfg, _ := testConfig(t, dir, `
speaker = "none"
state_dir = "{{DIR}}/state"
[music]
enabled = false
[[door]]
name = "once"
one_time_sequences = "{{DIR}}/seqs"
start_command = ["/bin/sh", "-c", "echo %IP% %PORT% >> {{DIR}}/out"]
`)
	const x = "192.0.2.10"
	logger, _ := testLogger(t)
	d := replay(t, cfg, Options{Logger: logger}, pcapFile(t,
		syn(0, x, hostAddr4, 7000), syn(time.Microsecond, x, hostAddr4, 7001), syn(2*time.Microsecond, x, hostAddr4, 7002)))
	if got, want := readAll(t, filepath.Join(dir, "out")), x+" 7000\n"+x+" 7001\n"+x+" 7002\n"; got != want {
		t.Errorf("the door's command wrote %q, want %q: each line opened in turn", got, want)
	}
	if s := d.Stats(); s.Capture.Packets != 3 || s.Knocks != 3 {
		t.Errorf("Stats: %d packets, %d knocks; want 3 and 3", s.Capture.Packets, s.Knocks)
	}
}
