package beeper

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWAVTooLongRemovesTheFile: a song that turns out longer than a WAV
// file holds (notes played per line of input, whose length is not known
// in advance) fails without leaving a file that no player can read.
func TestWAVTooLongRemovesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "long.wav")
	w, err := openWAV(path, MaxWAVRate)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.StartSong("long"); err != nil {
		t.Fatal(err)
	}
	w.Tone(0) // silence renders fastest
	err = w.Hold(context.Background(), WAVCapacity(MaxWAVRate)+time.Second)
	if err == nil || !strings.Contains(err.Error(), "longer than a WAV file holds") {
		t.Fatalf("Hold past the capacity: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("%s left behind: %v", path, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close after the failure: %v", err)
	}
}

func TestWAVMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "songs") + string(filepath.Separator)
	_, err := openWAV(dir, 0)
	if err == nil || !strings.Contains(err.Error(), "does not exist: create it first") {
		t.Fatalf("openWAV(%s) = %v, want \"create it first\"", dir, err)
	}
}
