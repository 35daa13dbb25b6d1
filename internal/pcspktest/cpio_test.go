package pcspktest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// archived is one entry as readNewc finds it.
type archived struct {
	Name         string
	Mode         uint32
	Major, Minor uint32
	Data         string
}

// readNewc reads back a newc archive the way the kernel does, strictly:
// magic, hex fields, NUL-ended names, 4-byte alignment and a trailer.
func readNewc(b []byte) ([]archived, error) {
	var entries []archived
	for off := 0; ; {
		if len(b)-off < 110 {
			return nil, fmt.Errorf("offset %d: %d bytes left, want a 110-byte header", off, len(b)-off)
		}
		h := b[off : off+110]
		if string(h[:6]) != "070701" {
			return nil, fmt.Errorf("offset %d: magic %q", off, h[:6])
		}
		var f [13]uint32
		for i := range f {
			v, err := strconv.ParseUint(string(h[6+8*i:14+8*i]), 16, 32)
			if err != nil {
				return nil, fmt.Errorf("offset %d: field %d: %w", off, i, err)
			}
			f[i] = uint32(v)
		}
		size, nameSize := int(f[6]), int(f[11])
		nameEnd := off + 110 + nameSize
		if nameSize < 1 || nameEnd > len(b) || b[nameEnd-1] != 0 {
			return nil, fmt.Errorf("offset %d: bad name size %d", off, nameSize)
		}
		name := string(b[off+110 : nameEnd-1])
		dataStart := pad4(nameEnd)
		if dataStart+size > len(b) {
			return nil, fmt.Errorf("%s: data runs past the end", name)
		}
		if name == "TRAILER!!!" {
			if rest := b[pad4(dataStart+size):]; len(rest) != 0 {
				return nil, fmt.Errorf("%d bytes after the trailer", len(rest))
			}
			return entries, nil
		}
		entries = append(entries, archived{Name: name, Mode: f[1], Major: f[9], Minor: f[10], Data: string(b[dataStart : dataStart+size])})
		off = pad4(dataStart + size)
	}
}

func TestCPIOWriter(t *testing.T) {
	var buf bytes.Buffer
	w := NewCPIOWriter(&buf)
	for _, err := range []error{
		w.Dir("dev", 0o755),
		w.CharDevice("dev/console", 0o600, 5, 1),
		w.Dir("bin", 0o755),
		w.File("init", 0o755, []byte("#!")),
		w.File("bin/empty", 0o644, nil),
		w.File("bin/three", 0o600, []byte("abc")),
		w.Close(),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := readNewc(buf.Bytes())
	if err != nil {
		t.Fatalf("reading the archive back: %v", err)
	}
	want := []archived{
		{Name: "dev", Mode: 0o40755},
		{Name: "dev/console", Mode: 0o20600, Major: 5, Minor: 1},
		{Name: "bin", Mode: 0o40755},
		{Name: "init", Mode: 0o100755, Data: "#!"},
		{Name: "bin/empty", Mode: 0o100644},
		{Name: "bin/three", Mode: 0o100600, Data: "abc"},
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("archive read back:\n-want %+v\n+got  %+v", want, got)
	}
}

func TestCPIOWriterRefusesBadNames(t *testing.T) {
	tests := []struct{ name, entry string }{
		{"empty", ""},
		{"dot", "."},
		{"absolute", "/init"},
		{"parent", "../etc/passwd"},
		{"unclean", "bin//beep"},
		{"trailing slash", "bin/"},
		{"NUL byte", "bin/be\x00ep"},
		{"the trailer's name", "TRAILER!!!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewCPIOWriter(&buf)
			if err := w.File(tt.entry, 0o644, []byte("x")); err == nil {
				t.Fatalf("File(%q) = nil error, want a refusal", tt.entry)
			}
			if buf.Len() != 0 {
				t.Errorf("a refused entry wrote %d bytes", buf.Len())
			}
			// A refused name leaves the writer usable.
			if err := w.File("ok", 0o644, nil); err != nil {
				t.Errorf("after a refusal: %v", err)
			}
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestCPIOWriterKeepsWriteErrors(t *testing.T) {
	w := NewCPIOWriter(failingWriter{})
	if err := w.File("init", 0o755, nil); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("File on a failing writer: %v, want the write error", err)
	}
	if err := w.Close(); err == nil {
		t.Error("Close after a failed write: nil error, want the earlier one")
	}
}

// TestCPIOWriterAgainstCPIO has GNU cpio, the tool people inspect an
// initramfs with, list and unpack what the writer makes.
func TestCPIOWriterAgainstCPIO(t *testing.T) {
	tool, err := exec.LookPath("cpio")
	if err != nil {
		t.Skipf("cpio(1) not installed (apt-get install cpio): %v", err)
	}
	var buf bytes.Buffer
	w := NewCPIOWriter(&buf)
	for _, err := range []error{
		w.Dir("bin", 0o755),
		w.File("bin/hello", 0o755, []byte("hello, guest\n")),
		w.File("odd", 0o644, []byte("12345")),
		w.Close(),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	list := exec.Command(tool, "-t", "--quiet")
	list.Stdin = bytes.NewReader(buf.Bytes())
	out, err := list.Output()
	if err != nil {
		t.Fatalf("cpio -t: %v", err)
	}
	if got, want := strings.Fields(string(out)), []string{"bin", "bin/hello", "odd"}; !reflect.DeepEqual(want, got) {
		t.Errorf("cpio -t lists (-want +got):\n-%q\n+%q", want, got)
	}
	dir := t.TempDir()
	unpack := exec.Command(tool, "-i", "-d", "--quiet", "--no-absolute-filenames")
	unpack.Dir = dir
	unpack.Stdin = bytes.NewReader(buf.Bytes())
	if out, err := unpack.CombinedOutput(); err != nil {
		t.Fatalf("cpio -i: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, "bin", "hello"))
	if err != nil || string(got) != "hello, guest\n" {
		t.Errorf("bin/hello unpacked as %q, %v", got, err)
	}
	if st, err := os.Stat(filepath.Join(dir, "bin", "hello")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("bin/hello unpacked with mode %v, %v; want -rwxr-xr-x", st.Mode(), err)
	}
}

func FuzzCPIOWriter(f *testing.F) {
	f.Add("init", []byte("#!"), "bin/beep", []byte{})
	f.Add("dev", []byte{}, "a/b/c", []byte("12345"))
	f.Fuzz(func(t *testing.T, name1 string, data1 []byte, name2 string, data2 []byte) {
		var buf bytes.Buffer
		w := NewCPIOWriter(&buf)
		var want []archived
		for _, e := range []struct {
			name string
			data []byte
		}{{name1, data1}, {name2, data2}} {
			if err := w.File(e.name, 0o644, e.data); err != nil {
				if checkArchiveName(e.name) == nil {
					t.Fatalf("File(%q) refused a good name: %v", e.name, err)
				}
				continue
			}
			want = append(want, archived{Name: e.name, Mode: 0o100644, Data: string(e.data)})
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := readNewc(buf.Bytes())
		if err != nil {
			t.Fatalf("the archive does not read back: %v", err)
		}
		if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(want, got)) {
			t.Errorf("read back (-want +got):\n-%+v\n+%+v", want, got)
		}
	})
}
