package pcspktest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"time"
)

// SampleRate is the WAV rate qemu records the speaker at: its native rate,
// so nothing is resampled.
const SampleRate = 32000

// A Boot is one finished run of the guest.
type Boot struct {
	Console []byte        // the guest's serial console
	Trace   string        // qemu's trace of port writes (-D)
	WAV     string        // qemu's recording of the speaker
	Wall    time.Duration // from qemu's start to its exit
}

// BootGuest runs qemu on the initramfs with the TCG accelerator, no network
// and the speaker recorded to dir/speaker.wav, and waits for the guest to
// power off.
//
// The guest's clock counts its instructions (-icount shift=0,sleep=off):
// each instruction is 1 ns of guest time, a 1 GHz CPU that runs one
// instruction a cycle, slower than any PC this would run on. qemu's
// virtual clock, which drives the guest's timers, its timer chip and the
// audio recording, advances with the guest's instructions and nothing
// else, so how the host schedules qemu cannot move a time the guest
// sees or the WAV holds. While the guest is idle, sleep=off skips its
// clock ahead to the next timer at once: the guest's sleeps cost no host
// time. The trace's host timestamps then mean nothing for the guest; the
// guest kernel's trace (SpeakerProbe) times the sounds instead. The scenario name goes on the kernel command line so the
// console log says what ran. Only when limit passes is qemu killed, and
// then the WAV is unusable (qemu finishes its header on exit).
//
// qemu runs ahead of the host's other work (Machine.Priority), so a guest
// that hangs must not outlive its welcome: qemu gets SIGKILL when limit
// passes, and where the system can (Linux, FreeBSD) when the calling
// process dies first.
func BootGuest(ctx context.Context, m *Machine, initramfs, dir, scenario string, limit time.Duration) (*Boot, error) {
	b := &Boot{Trace: filepath.Join(dir, "trace.log"), WAV: filepath.Join(dir, "speaker.wav")}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	argv := []string{m.QEMU,
		"-accel", "tcg", "-icount", "shift=0,sleep=off", "-m", "256", "-smp", "1", "-nographic", "-vga", "none", "-nic", "none", "-no-reboot",
		"-kernel", m.Kernel, "-initrd", initramfs,
		"-append", "console=ttyS0 panic=-1 loglevel=4 knockbeep.scenario=" + scenario,
		"-audiodev", fmt.Sprintf("wav,id=snd0,path=%s,out.frequency=%d,out.channels=1,out.format=s16,timer-period=1000", b.WAV, SampleRate),
		// Without the HPET, whose clockevent the kernel reprograms
		// some 600,000 times while it boots under instruction counting,
		// the trace is 3 MB instead of 50-75 MB.
		"-machine", "pc,hpet=off,pcspk-audiodev=snd0",
		"-trace", "memory_region_ops_write", "-D", b.Trace, "-msg", "timestamp=on",
	}
	argv = append(slices.Clone(m.Priority), argv...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var console bytes.Buffer
	cmd.Stdout = &console
	cmd.Stderr = &console
	cmd.SysProcAttr = killWithParent()
	// Should anything qemu started hold its output open after the kill,
	// stop waiting for it.
	cmd.WaitDelay = 5 * time.Second
	// The parent-death signal goes out when the thread that started qemu
	// ends, not the process: keep this goroutine on its thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := time.Now()
	err := cmd.Run()
	b.Wall = time.Since(start)
	b.Console = console.Bytes()
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return b, fmt.Errorf("pcspktest: the guest did not power off within %v; qemu was killed (see the console log)", limit)
	case err != nil:
		return b, fmt.Errorf("pcspktest: qemu: %w", err)
	}
	return b, nil
}
