package pcspktest

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// A CPIOWriter writes a cpio archive in the "newc" format (magic 070701), the
// one the Linux kernel unpacks as an initramfs. It holds only what a guest
// needs: folders, regular files and character devices.
type CPIOWriter struct {
	w     io.Writer
	inode uint32
	err   error
}

// NewCPIOWriter starts an archive on w. Call Close to write the trailer.
func NewCPIOWriter(w io.Writer) *CPIOWriter {
	return &CPIOWriter{w: w, inode: 1}
}

// Mode bits of the file type, as cpio stores them (the S_IF* values of
// sys/stat.h, which io/fs does not use).
const (
	cpioDir  = 0o040000
	cpioFile = 0o100000
	cpioChar = 0o020000
)

// Dir adds a folder. name is a slash-separated path inside the archive with
// no leading slash, e.g. "dev" or "lib/modules".
func (c *CPIOWriter) Dir(name string, perm fs.FileMode) error {
	return c.entry(name, cpioDir|uint32(perm.Perm()), 2, 0, 0, nil)
}

// File adds a regular file holding data.
func (c *CPIOWriter) File(name string, perm fs.FileMode, data []byte) error {
	if uint64(len(data)) > 0xFFFFFFFF {
		return fmt.Errorf("pcspktest: cpio: %s: %d bytes is more than newc can hold (4 GiB)", name, len(data))
	}
	return c.entry(name, cpioFile|uint32(perm.Perm()), 1, 0, 0, data)
}

// CharDevice adds a character device node, e.g. "dev/console" 5, 1.
func (c *CPIOWriter) CharDevice(name string, perm fs.FileMode, major, minor uint32) error {
	return c.entry(name, cpioChar|uint32(perm.Perm()), 1, major, minor, nil)
}

// Close writes the trailer that ends the archive. It does not close the
// underlying writer.
func (c *CPIOWriter) Close() error {
	if c.err != nil {
		return c.err
	}
	c.inode = 0
	return c.write("TRAILER!!!", 0, 1, 0, 0, nil)
}

func (c *CPIOWriter) entry(name string, mode, nlink, major, minor uint32, data []byte) error {
	if c.err != nil {
		return c.err
	}
	if err := checkArchiveName(name); err != nil {
		return err
	}
	c.inode++
	return c.write(name, mode, nlink, major, minor, data)
}

// checkArchiveName refuses names the kernel would mis-place or that would
// corrupt the archive.
func checkArchiveName(name string) error {
	switch {
	case name == "" || name == ".":
		return fmt.Errorf("pcspktest: cpio: empty entry name")
	case strings.ContainsRune(name, 0):
		return fmt.Errorf("pcspktest: cpio: entry name %q holds a NUL byte", name)
	case strings.HasPrefix(name, "/") || path.Clean(name) != name || strings.HasPrefix(name, "../"):
		return fmt.Errorf("pcspktest: cpio: entry name %q must be a clean relative path like \"dev/console\"", name)
	case name == "TRAILER!!!":
		return fmt.Errorf("pcspktest: cpio: entry name %q is reserved for the end of the archive", name)
	}
	return nil
}

func (c *CPIOWriter) write(name string, mode, nlink, major, minor uint32, data []byte) error {
	// 13 fields of 8 hex digits: inode, mode, uid, gid, nlink, mtime,
	// filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check.
	// mtime 0 keeps archives reproducible.
	header := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.inode, mode, 0, 0, nlink, 0, len(data), 0, 0, major, minor, len(name)+1, 0)
	record := make([]byte, 0, pad4(len(header)+len(name)+1)+pad4(len(data)))
	record = append(record, header...)
	record = append(record, name...)
	record = append(record, 0)
	record = append(record, make([]byte, pad4(len(record))-len(record))...)
	record = append(record, data...)
	record = append(record, make([]byte, pad4(len(data))-len(data))...)
	if _, err := c.w.Write(record); err != nil {
		return c.fail(fmt.Errorf("pcspktest: cpio: writing %s: %w", name, err))
	}
	return nil
}

func (c *CPIOWriter) fail(err error) error {
	if c.err == nil {
		c.err = err
	}
	return err
}

// pad4 rounds n up to a multiple of 4, newc's alignment.
func pad4(n int) int { return (n + 3) &^ 3 }
