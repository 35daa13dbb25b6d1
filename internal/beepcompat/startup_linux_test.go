package beepcompat

import (
	"io"
	"os/exec"
	"testing"
	"time"
)

// BenchmarkStartup measures how long one run of beep takes from exec to
// exit, Debian's beep 1.4 against ours, when it plays nothing: "beep -e
// /dev/tty0 -l 0" (open and probe the console, play a tone of no length)
// and "--version" (the program's start alone). Users asked beep for a
// faster start-up. Besides the wall time per run (ns/op) it reports the
// CPU time the process used (cpu-ms/op), which a loaded machine disturbs
// less.
//
// The console is named so that both do the same work wherever they run:
// without -e each first looks for a PC speaker input device, and only
// then falls back to the console.
func BenchmarkStartup(b *testing.B) {
	beeps := []struct{ name, path string }{
		{"beep-1.4", needTools(b, false)},
		{"knockbeep", ourBeep(b)},
	}
	for _, args := range []struct {
		name string
		argv []string
	}{
		{"-e_tty0_-l_0", []string{"-e", console, "-l", "0"}},
		{"--version", []string{"--version"}},
	} {
		for _, beep := range beeps {
			b.Run(args.name+"/"+beep.name, func(b *testing.B) {
				var cpu time.Duration
				for b.Loop() {
					cmd := exec.Command(beep.path, args.argv...)
					cmd.Env = beepEnv
					cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
					if err := cmd.Run(); err != nil {
						b.Fatalf("%s %q: %v", beep.path, args.argv, err)
					}
					cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
				}
				b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
			})
		}
	}
}
