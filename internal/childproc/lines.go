package childproc

import "bytes"

// A LineWriter calls Line with each line written to it, without its
// newline or a carriage return before it; a line longer than Max bytes
// (if Max > 0) is passed on in pieces of Max. exec.Cmd writes a child's
// output to it from one goroutine and Wait waits for that goroutine, so
// it needs no lock.
type LineWriter struct {
	Line func(line string)
	Max  int
	buf  []byte
}

func (w *LineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.buf = append(w.buf, p...)
			w.split(w.Max)
			break
		}
		w.buf = append(w.buf, p[:i]...)
		p = p[i+1:]
		w.split(w.Max + 1)
		w.emit(w.buf)
		w.buf = w.buf[:0]
	}
	return n, nil
}

// split passes on pieces of Max bytes while the buffer holds at least
// limit.
func (w *LineWriter) split(limit int) {
	for w.Max > 0 && len(w.buf) >= limit {
		w.emit(w.buf[:w.Max])
		w.buf = append(w.buf[:0], w.buf[w.Max:]...)
	}
}

// Flush passes on a last line that had no newline.
func (w *LineWriter) Flush() {
	if len(w.buf) > 0 {
		w.emit(w.buf)
		w.buf = w.buf[:0]
	}
}

func (w *LineWriter) emit(line []byte) {
	w.Line(string(bytes.TrimSuffix(line, []byte{'\r'})))
}
