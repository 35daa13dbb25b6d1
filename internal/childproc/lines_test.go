package childproc

import (
	"slices"
	"strings"
	"testing"
)

// written writes each chunk to a LineWriter of max, flushes it, and
// returns the lines it passed on.
func written(max int, chunks ...string) []string {
	var got []string
	w := &LineWriter{Max: max, Line: func(l string) { got = append(got, l) }}
	for _, c := range chunks {
		w.Write([]byte(c))
	}
	w.Flush()
	return got
}

func TestLineWriter(t *testing.T) {
	tests := []struct {
		name   string
		max    int
		chunks []string
		want   []string
	}{
		{name: "lines", chunks: []string{"a\nbb\n"}, want: []string{"a", "bb"}},
		{name: "a line across writes", chunks: []string{"he", "llo\nwor", "ld\n"}, want: []string{"hello", "world"}},
		{name: "CRLF", chunks: []string{"dos\r\n"}, want: []string{"dos"}},
		{name: "no newline at the end", chunks: []string{"a\nlast"}, want: []string{"a", "last"}},
		{name: "empty lines", chunks: []string{"\n\n"}, want: []string{"", ""}},
		{name: "too long, with a newline", max: 3, chunks: []string{"abcdefg\n"}, want: []string{"abc", "def", "g"}},
		{name: "exactly max", max: 3, chunks: []string{"abc\n"}, want: []string{"abc"}},
		{name: "too long, no newline yet", max: 3, chunks: []string{"abcd", "ef"}, want: []string{"abc", "def"}},
		{name: "nothing", chunks: []string{""}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := written(tt.max, tt.chunks...); !slices.Equal(got, tt.want) {
				t.Errorf("lines %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzLineWriter: without carriage returns, the lines passed on are the
// text, however it was cut into writes, and none is longer than Max.
func FuzzLineWriter(f *testing.F) {
	f.Add("a\nbb\n", 1, 0)
	f.Add("abcdefg\nxy", 3, 3)
	f.Add("\n\n\n", 0, 2)
	f.Fuzz(func(t *testing.T, text string, cut, limit int) {
		text = strings.ReplaceAll(text, "\r", "")
		limit %= 64
		if limit < 0 {
			limit = -limit
		}
		cut = min(max(cut, 0), len(text))
		got := written(limit, text[:cut], text[cut:])
		if limit == 0 {
			want := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
			if text == "" {
				want = nil
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%q cut at %d: lines %q, want %q", text, cut, got, want)
			}
			return
		}
		for _, l := range got {
			if len(l) > limit {
				t.Fatalf("%q: a line of %d bytes, max %d", text, len(l), limit)
			}
		}
		if strings.Join(got, "") != strings.ReplaceAll(text, "\n", "") {
			t.Fatalf("%q: lines %q lose or add text", text, got)
		}
	})
}
