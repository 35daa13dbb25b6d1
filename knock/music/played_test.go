package music_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock/music"
)

// waitDeleted waits until Run has deleted n played songs in all.
func (h *harness) waitDeleted(n uint64) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.m.Stats().Deleted < n {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %d played songs deleted; %d were", n, h.m.Stats().Deleted)
		}
		time.Sleep(time.Millisecond)
	}
}

// playSongs knocks one song from each source in turn, a second apart on
// the fake clock so that their archives sort in that order, and waits
// until each has played and its WAV is archived.
func (h *harness) playSongs(srcs ...string) {
	h.t.Helper()
	for _, src := range srcs {
		played := len(h.player.played())
		h.knocks(src, tone, play)
		h.waitPlayed(played + 1)
		h.clock.Advance(time.Second)
	}
}

// TestPlayedKeepsNewest: played/ keeps the KeepPlayed newest songs, pool
// and WAV, and at most KeepPlayedBytes of them; older ones are deleted
// after each song, logged and counted. A remote host knocking songs over
// and over cannot fill the disk.
func TestPlayedKeepsNewest(t *testing.T) {
	song := func(sec int, src string) string {
		return "20240504T1200" + []string{"00", "01", "02", "03"}[sec] + ".000Z_" + src
	}
	// One song's files: its pool (header and one tone) and the recording
	// player's WAV ("RIFF " and the song's name).
	songBytes := int64(len(header+"tone 440 100ms\n") + len("RIFF "+song(0, "192.0.2.1")))
	tests := []struct {
		name        string
		keep        int
		keepBytes   int64
		wantKept    []string // songs left, oldest first
		wantDeleted uint64
	}{
		{name: "by count", keep: 2, keepBytes: 1 << 30,
			wantKept: []string{song(2, "192.0.2.3"), song(3, "192.0.2.4")}, wantDeleted: 2},
		{name: "by bytes", keep: 100, keepBytes: songBytes + songBytes/2,
			wantKept: []string{song(3, "192.0.2.4")}, wantDeleted: 3},
		{name: "keep none", keep: 0, keepBytes: 1 << 30, wantDeleted: 4},
		{name: "room for all", keep: 4, keepBytes: 4 * songBytes, wantKept: []string{
			song(0, "192.0.2.1"), song(1, "192.0.2.2"), song(2, "192.0.2.3"), song(3, "192.0.2.4")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(o *music.Options) { o.KeepPlayed, o.KeepPlayedBytes = tt.keep, tt.keepBytes })
			h.player.wavDir = t.TempDir()
			h.playSongs("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4")
			h.waitDeleted(tt.wantDeleted)
			h.stop() // Run has finished with the last song
			var want []string
			for _, s := range tt.wantKept {
				want = append(want, s+".pool", s+".wav")
			}
			if got := h.files("played"); !slices.Equal(want, got) {
				t.Errorf("played/ (-want +got):\n-%q\n+%q", want, got)
			}
			if got := h.m.Stats().Deleted; got != tt.wantDeleted {
				t.Errorf("Stats().Deleted = %d, want %d", got, tt.wantDeleted)
			}
			var logged int
			for _, rec := range h.logs.Records(t) {
				if rec["msg"] == "music: deleted the oldest played songs ([music] keep_played, keep_played_mib)" {
					logged += int(rec["deleted"].(float64))
				}
			}
			if uint64(logged) != tt.wantDeleted {
				t.Errorf("the log says %d songs deleted, want %d", logged, tt.wantDeleted)
			}
		})
	}
}

// TestPlayedPrunedAtStart: songs a previous run left beyond the limit go
// when Run starts; files under played/ that Music did not name stay.
func TestPlayedPrunedAtStart(t *testing.T) {
	dir := t.TempDir()
	played := filepath.Join(dir, "played")
	if err := os.MkdirAll(played, 0o750); err != nil {
		t.Fatal(err)
	}
	files := []string{
		"20240101T000000.000Z_192.0.2.1.pool",
		"20240101T000000.000Z_192.0.2.1.wav",
		"20240101T000000.000Z_192.0.2.1-2.pool", // the same millisecond: taken second
		"20240101T000000.000Z_192.0.2.1-10.pool",
		"20240102T000000.000Z_2001-db8--1.pool",
		"README.txt",
		"my-song.pool",
		"20240101T000000.000Z.pool", // no source: not an archive's name
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(played, f), []byte(header), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	h := newHarness(t, func(o *music.Options) { o.StateDir, o.KeepPlayed = dir, 2 })
	h.waitDeleted(2)
	h.stop()
	want := []string{
		"20240101T000000.000Z.pool",
		"20240101T000000.000Z_192.0.2.1-10.pool",
		"20240102T000000.000Z_2001-db8--1.pool",
		"README.txt",
		"my-song.pool",
	}
	if got := h.files("played"); !slices.Equal(want, got) {
		t.Errorf("played/ (-want +got):\n-%q\n+%q", want, got)
	}
}

// TestPlayedKeepsQueuedSongs: with KeepPlayed 0 a song's archive stays
// until it has played; songs waiting are never deleted.
func TestPlayedKeepsQueuedSongs(t *testing.T) {
	h := newHarness(t, func(o *music.Options) { o.KeepPlayed = 0 })
	h.player.gate = make(chan struct{})
	h.player.started = make(chan string, 10)
	h.knocks("192.0.2.1", tone, play)
	<-h.player.started
	h.clock.Advance(time.Second)
	h.knocks("192.0.2.2", tone, play)
	h.player.gate <- struct{}{} // the first song ends; Run prunes, then plays the second
	<-h.player.started
	h.waitDeleted(1)
	if got, want := h.files("played"), []string{"20240504T120001.000Z_192.0.2.2.pool"}; !slices.Equal(want, got) {
		t.Errorf("played/ while the second song plays (-want +got):\n-%q\n+%q", want, got)
	}
	h.player.gate <- struct{}{}
	h.waitDeleted(2)
	if got := h.files("played"); len(got) != 0 {
		t.Errorf("played/ = %q after both songs, want it empty", got)
	}
}
