package pcspktest

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseKernelDepends(t *testing.T) {
	tests := []struct {
		name, out, want, wantErr string
	}{
		{
			name: "bookworm",
			out:  "linux-image-amd64\n  Depends: linux-image-6.1.0-48-amd64\n",
			want: "linux-image-6.1.0-48-amd64",
		},
		{
			name: "alternatives and recommends around it",
			out:  "linux-image-amd64\n  Recommends: firmware-linux-free\n  Depends: <linux-image-virtual>\n  Depends: linux-image-6.12.9-amd64\n  Depends: linux-image-6.1.0-1-amd64\n",
			want: "linux-image-6.12.9-amd64",
		},
		{
			name:    "empty package lists",
			out:     "linux-image-amd64\n",
			wantErr: "apt-get update",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseKernelDepends([]byte(tt.out))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("parseKernelDepends = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestBootGuestKillsAHungEmulator: an emulator that spins on past its time
// limit, at the priority Prepare gives qemu (real-time where allowed),
// is killed at the limit and reaped, so a hung guest cannot keep a core.
func TestBootGuestKillsAHungEmulator(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	hung := filepath.Join(dir, "qemu-system-x86_64")
	script := "#!/bin/sh\necho $$ > " + pidFile + "\nwhile :; do :; done\n"
	if err := os.WriteFile(hung, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	m := &Machine{QEMU: hung, Priority: qemuPriority(context.Background(), t.Logf)}
	const limit = time.Second
	start := time.Now()
	_, err := BootGuest(context.Background(), m, filepath.Join(dir, "initramfs"), dir, "hung", limit)
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "did not power off within 1s") {
		t.Errorf("BootGuest of a hung emulator: error %v, want one saying it did not power off within 1s", err)
	}
	if took > limit+2*time.Second {
		t.Errorf("BootGuest returned %v after it started a hung emulator, want about its limit %v", took, limit)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the emulator never ran: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
		t.Errorf("the hung emulator (pid %d, under %q) still exists after BootGuest returned", pid, strings.Join(m.Priority, " "))
	}
}
