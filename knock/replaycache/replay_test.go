package replaycache

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeNow is a settable clock.
type fakeNow struct{ t time.Time }

func (f *fakeNow) now() time.Time { return f.t }

var t0 = time.Unix(1770000000, 0)

func id(n byte) [16]byte { return [16]byte{n, 1, 2, 3} }

func open(t *testing.T, path string, clk *fakeNow, max int) (*Cache, []string) {
	t.Helper()
	c, notes, err := Open(path, Options{Max: max, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, notes
}

// An entry added is refused again, also after the file is reopened (a
// restart), until it expires.
func TestAddSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "replay.cache")
	clk := &fakeNow{t0}
	c, _ := open(t, path, clk, 0)
	if added, err := c.Add(id(1), t0.Add(10*time.Second)); !added || err != nil {
		t.Fatalf("Add = %v, %v", added, err)
	}
	if added, err := c.Add(id(1), t0.Add(10*time.Second)); added || err != nil {
		t.Fatalf("second Add = %v, %v; want refused", added, err)
	}
	// No Close: a SIGKILL closes nothing.
	c2, notes := open(t, path, clk, 0)
	if len(notes) != 0 {
		t.Errorf("notes on a clean file: %q", notes)
	}
	if !c2.Seen(id(1)) {
		t.Fatal("the entry was lost across a reopen")
	}
	if added, _ := c2.Add(id(1), t0.Add(10*time.Second)); added {
		t.Fatal("a replay was accepted after a reopen")
	}
	clk.t = t0.Add(10 * time.Second)
	if c2.Seen(id(1)) {
		t.Error("the entry outlived its expiry")
	}
	c3, _ := open(t, path, clk, 0)
	if c3.Len() != 0 {
		t.Errorf("expired entries were loaded: %d", c3.Len())
	}
}

// Fractions of a second round the expiry up, never down.
func TestExpiryRoundsUp(t *testing.T) {
	clk := &fakeNow{t0}
	c, _ := open(t, filepath.Join(t.TempDir(), "c"), clk, 0)
	c.Add(id(1), t0.Add(1500*time.Millisecond))
	clk.t = t0.Add(1999 * time.Millisecond)
	if !c.Seen(id(1)) {
		t.Error("the entry expired before its sequence did")
	}
}

// A crash while a record was written leaves a short tail or a record
// whose CRC does not match: both are dropped, with a note, and the records
// before and after stay.
func TestTornRecords(t *testing.T) {
	clk := &fakeNow{t0}
	tests := []struct {
		name   string
		damage func(data []byte) []byte
		keep   []byte // ids that must survive
		note   string
	}{
		{"short tail", func(d []byte) []byte { return d[:len(d)-5] }, []byte{1, 2}, "a torn last record (a crash while it was written) was dropped"},
		{"bad CRC in the middle", func(d []byte) []byte { d[len(header)+recordSize+3] ^= 0xff; return d }, []byte{1, 3}, "1 damaged records were dropped"},
		{"torn header", func(d []byte) []byte { return d[:4] }, nil, "a torn header (a crash while the file was made) was dropped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c")
			c, _ := open(t, path, clk, 0)
			for n := byte(1); n <= 3; n++ {
				c.Add(id(n), t0.Add(time.Minute))
			}
			c.Close()
			data, _ := os.ReadFile(path)
			os.WriteFile(path, tt.damage(data), 0o600)
			c2, notes := open(t, path, clk, 0)
			if len(notes) != 1 || notes[0] != tt.note {
				t.Errorf("notes = %q, want %q", notes, tt.note)
			}
			for _, n := range tt.keep {
				if !c2.Seen(id(n)) {
					t.Errorf("entry %d lost", n)
				}
			}
			if c2.Len() != len(tt.keep) {
				t.Errorf("%d entries, want %d", c2.Len(), len(tt.keep))
			}
			// The file was rewritten whole: appends land on record
			// boundaries and read back.
			c2.Add(id(9), t0.Add(time.Minute))
			c3, notes := open(t, path, clk, 0)
			if len(notes) != 0 || !c3.Seen(id(9)) {
				t.Errorf("after the repair: notes %q, new entry seen %v", notes, c3.Seen(id(9)))
			}
		})
	}
}

func TestBadHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c")
	os.WriteFile(path, []byte("something else entirely\n"), 0o600)
	_, _, err := Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "replay cache "+path+": not a replay cache (bad header)") {
		t.Errorf("Open = %v, want a bad-header error naming the file", err)
	}
}

// The cache is bounded: beyond Max live entries Add refuses (an attacker
// with the key cannot make it grow without end), and entries that expired
// make room again.
func TestBounded(t *testing.T) {
	clk := &fakeNow{t0}
	c, _ := open(t, filepath.Join(t.TempDir(), "c"), clk, 3)
	for n := byte(1); n <= 3; n++ {
		if added, err := c.Add(id(n), t0.Add(time.Duration(n)*time.Second)); !added || err != nil {
			t.Fatalf("Add %d = %v, %v", n, added, err)
		}
	}
	if _, err := c.Add(id(4), t0.Add(time.Minute)); !errors.Is(err, ErrFull) {
		t.Fatalf("Add beyond Max = %v, want ErrFull", err)
	}
	clk.t = t0.Add(time.Second)
	if added, err := c.Add(id(4), t0.Add(time.Minute)); !added || err != nil {
		t.Fatalf("Add after one expired = %v, %v", added, err)
	}
}

// Expired records are compacted away: many short-lived entries leave a
// small file.
func TestCompaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c")
	clk := &fakeNow{t0}
	c, _ := open(t, path, clk, 0)
	for n := range 300 {
		clk.t = t0.Add(time.Duration(n) * time.Second)
		var k [16]byte
		k[0], k[1] = byte(n), byte(n>>8)
		if _, err := c.Add(k, clk.t.Add(2*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	fi, _ := os.Stat(path)
	if max := int64(len(header) + recordSize*(2*3+64+3+64)); fi.Size() > max {
		t.Errorf("file is %d bytes after 300 short-lived entries, want at most %d", fi.Size(), max)
	}
	if _, err := os.Stat(path + ".new"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
}

// FuzzOpen opens arbitrary files: no panic; what is loaded reads back the
// same after a reopen; an Add after it is seen after another reopen.
func FuzzOpen(f *testing.F) {
	rec := func(n byte, exp int64) string { return string(encode(id(n), exp)) }
	f.Add([]byte(header + rec(1, t0.Unix()+60) + rec(2, t0.Unix()-1)))
	f.Add([]byte(header + rec(1, t0.Unix()+60)[:20]))
	f.Add([]byte(header))
	f.Add([]byte(header[:3]))
	f.Add([]byte("garbage"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "c")
		os.WriteFile(path, data, 0o600)
		clk := &fakeNow{t0}
		c, _, err := Open(path, Options{Now: clk.now})
		if err != nil {
			return
		}
		n := c.Len()
		if _, err := c.Add(id(200), t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		c.Close()
		c2, notes, err := Open(path, Options{Now: clk.now})
		if err != nil {
			t.Fatalf("reopening a file the cache wrote: %v", err)
		}
		defer c2.Close()
		if len(notes) != 0 {
			t.Fatalf("the cache's own file has damage: %q", notes)
		}
		if !c2.Seen(id(200)) || c2.Len() < 1 || c2.Len() > n+1 {
			t.Fatalf("reopened with %d entries (had %d, added one), seen %v", c2.Len(), n, c2.Seen(id(200)))
		}
	})
}
