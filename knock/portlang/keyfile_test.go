package portlang

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var keyTests = []struct {
	name string
	text string
	want string // hex key, or the error
}{
	{"genkey's form", "# knockbeep key\n" + strings.Repeat("ab", 32) + "\n", strings.Repeat("ab", 32)},
	{"no newline, upper case, spaces", "  " + strings.Repeat("AB", 16) + "  ", strings.Repeat("ab", 16)},
	{"CRLF", "#c\r\n" + strings.Repeat("01", 64) + "\r\n", strings.Repeat("01", 64)},
	{"empty", "", "no key in the file: knockbeepd --genkey FILE makes one"},
	{"comments only", "# a\n\n#b\n", "no key in the file: knockbeepd --genkey FILE makes one"},
	{"not hex", "zz" + strings.Repeat("00", 16), "line 1: not hexadecimal: write the key as 64 hex digits (knockbeepd --genkey FILE makes one)"},
	{"odd digits", strings.Repeat("0", 33), "line 1: not hexadecimal: write the key as 64 hex digits (knockbeepd --genkey FILE makes one)"},
	{"too short", strings.Repeat("00", 15), "line 1: a key of 15 bytes: want 16 to 64"},
	{"too long", strings.Repeat("00", 65), "line 1: a key of 65 bytes: want 16 to 64"},
	{"two keys", strings.Repeat("00", 16) + "\n" + strings.Repeat("11", 16), "line 2: a second key line: a key file holds one key"},
	{"too large", strings.Repeat("#", 5000), "larger than 4096 bytes: a key file holds one line"},
}

func TestParseKey(t *testing.T) {
	for _, tt := range keyTests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := ParseKey([]byte(tt.text))
			got := hex.EncodeToString(key)
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("ParseKey = %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzParseKey: whatever ParseKey accepts is a key of a valid size that
// the file spells in hex on its one non-comment line.
func FuzzParseKey(f *testing.F) {
	for _, tt := range keyTests {
		f.Add([]byte(tt.text))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := ParseKey(data)
		if err != nil {
			if key != nil {
				t.Fatal("a key with an error")
			}
			return
		}
		if len(key) < MinKeyBytes || len(key) > MaxKeyBytes {
			t.Fatalf("key of %d bytes accepted", len(key))
		}
		if !bytes.Contains(bytes.ToLower(data), []byte(hex.EncodeToString(key))) {
			t.Fatalf("key %x is not spelt in %q", key, data)
		}
	})
}

// --genkey's file: mode 0600, a key ReadKeyFile accepts, never an existing
// file overwritten; a key file open to group or others is refused with
// its name and the fix.
func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "door.key")
	if err := WriteKeyFile(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode %04o, want 0600", perm)
	}
	key, err := ReadKeyFile(path)
	if err != nil || len(key) != KeyBytes {
		t.Fatalf("ReadKeyFile = %x, %v; want %d bytes", key, err, KeyBytes)
	}
	before, _ := os.ReadFile(path)
	err = WriteKeyFile(path)
	if err == nil || !strings.Contains(err.Error(), "exists: not overwritten") {
		t.Errorf("second WriteKeyFile = %v, want a refusal", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the existing key was changed")
	}
	other := filepath.Join(dir, "other.key")
	if err := WriteKeyFile(other); err != nil {
		t.Fatal(err)
	}
	if k2, _ := ReadKeyFile(other); bytes.Equal(k2, key) {
		t.Error("two generated keys are equal")
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o620} {
		os.Chmod(path, mode)
		_, err := ReadKeyFile(path)
		want := "key file " + path + ": mode " + "0" + strconvOct(mode) + " lets group or others read or change it: chmod 600 " + path
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("mode %04o: ReadKeyFile error = %v, want %q...", mode, err, want)
		}
	}
}

func strconvOct(m os.FileMode) string {
	const digits = "01234567"
	p := uint32(m.Perm())
	return string([]byte{digits[p>>6&7], digits[p>>3&7], digits[p&7]})
}

// A directory of users' keys: the .key files, by name; a key others may
// read, or a directory with none, is refused.
func TestReadKeyDir(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]os.FileMode // file name → mode; "README" is not a key
		want    []string
		wantErr string
	}{
		{name: "two users", files: map[string]os.FileMode{"bob.key": 0o600, "alice.key": 0o600, "README": 0o644}, want: []string{"alice", "bob"}},
		{name: "hidden and bare files are not keys", files: map[string]os.FileMode{".x.key": 0o600, ".key": 0o600, "carol.key": 0o600}, want: []string{"carol"}},
		{name: "empty", files: map[string]os.FileMode{"README": 0o644}, wantErr: "holds no NAME.key file"},
		{name: "a key others may read", files: map[string]os.FileMode{"alice.key": 0o600, "bob.key": 0o644}, wantErr: "chmod 600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, mode := range tt.files {
				path := filepath.Join(dir, name)
				if strings.HasSuffix(name, ".key") {
					if err := WriteKeyFile(path); err != nil {
						t.Fatal(err)
					}
				} else if err := os.WriteFile(path, []byte("not a key\n"), mode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, mode); err != nil {
					t.Fatal(err)
				}
			}
			keys, err := ReadKeyDir(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, k := range keys {
				names = append(names, k.Name)
				if len(k.Key) != KeyBytes {
					t.Errorf("%s: key of %d bytes", k.Name, len(k.Key))
				}
			}
			if !slices.Equal(names, tt.want) {
				t.Errorf("users %q, want %q", names, tt.want)
			}
		})
	}
}
