package pcspktest

import (
	"errors"
	"os"
	"path/filepath"
)

// ErrUnavailable marks a Prepare failure that is about this host, not about
// knockbeep: qemu cannot be installed, the kernel package cannot be fetched.
// Tests skip on it (errors.Is) and fail on anything else.
var ErrUnavailable = errors.New("pcspktest: emulator unavailable")

// CacheEnv names the environment variable that overrides where Prepare keeps
// the guest kernel between runs.
const CacheEnv = "KNOCKBEEP_QEMU_CACHE"

// ArtifactsEnv names the environment variable that, when set, makes the
// tests keep each boot's initramfs, console log, trace and WAV in a folder
// of that name under it, for a look after a failure.
const ArtifactsEnv = "KNOCKBEEP_QEMU_ARTIFACTS"

// A Machine is what a boot needs from the host: the emulator and a guest
// kernel with the two modules that give it a PC speaker.
type Machine struct {
	QEMU          string // qemu-system-x86_64
	Kernel        string // the guest's vmlinuz
	KernelPackage string // the Debian package the kernel came from, for reports
	// Modules are loaded by the guest's /init in this order: pcspkr.ko
	// (the speaker as an input device) then evdev.ko (its /dev/input node).
	Modules []string
	// Priority is put before qemu's command line to run it ahead of the
	// host's other work, e.g. "chrt --rr 1"; empty when that is not
	// allowed. It only shortens the boots on a busy host: the guest's
	// clock counts the guest's instructions (BootGuest), and no priority
	// or lack of it moves a time the tests measure.
	Priority []string
}

// Logf is how the harness reports progress; testing.T.Logf fits.
type Logf func(format string, args ...any)

// CacheDir is where Prepare keeps the guest kernel: $KNOCKBEEP_QEMU_CACHE,
// else knockbeep/qemu under the user's cache directory, else under the
// temporary directory.
func CacheDir() string {
	if dir := os.Getenv(CacheEnv); dir != "" {
		return dir
	}
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "knockbeep", "qemu")
	}
	return filepath.Join(os.TempDir(), "knockbeep-qemu")
}
