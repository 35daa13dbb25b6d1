package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/knockbeep/knockbeep/knock"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOneTimeUnreadable(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		want string
	}{
		{"missing file", filepath.Join(dir, "absent"), "config: one_time_sequences: stat " + filepath.Join(dir, "absent") + ": no such file or directory"},
		{"a directory", dir, "config: one_time_sequences " + dir + ": not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := OneTime{Path: tt.path}.Current()
			if got := errText(err); got != tt.want {
				t.Errorf("Current error (-want +got):\n-%s\n+%s", tt.want, got)
			}
		})
	}
}

// A one-time door whose file is missing or used up is disabled, with the
// reason, and the rest of the config still loads; knockd 0.8 dies of a
// double free here.
func TestOneTimeDoorDisabled(t *testing.T) {
	dir := t.TempDir()
	usedUp := writeFile(t, "used", "#7000\n# 8000\n")
	live := writeFile(t, "live", " 4000,5000:udp\n")
	missing := filepath.Join(dir, "missing")
	for _, syntax := range []struct {
		name, text string
	}{
		{"knockd.conf", "[first]\nSequence = 1\n[used]\nOne_Time_Sequences = " + usedUp +
			"\n[live]\nOne_Time_Sequences = " + live + "\n[missing]\nOne_Time_Sequences = " + missing + "\n[last]\nSequence = 2\n"},
		{"toml", "[[door]]\nname = \"first\"\nsequence = \"1\"\n[[door]]\nname = \"used\"\none_time_sequences = \"" + usedUp +
			"\"\n[[door]]\nname = \"live\"\none_time_sequences = \"" + live + "\"\n[[door]]\nname = \"missing\"\none_time_sequences = \"" + missing +
			"\"\n[[door]]\nname = \"last\"\nsequence = \"2\"\n"},
	} {
		t.Run(syntax.name, func(t *testing.T) {
			c, err := Parse(syntax.name, []byte(syntax.text))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var enabled []string
			for _, d := range c.Doors {
				enabled = append(enabled, d.Name)
			}
			if got, want := strings.Join(enabled, ","), "first,live,last"; got != want {
				t.Errorf("enabled doors = %s, want %s", got, want)
			}
			if live := c.Doors[1]; !slices.Equal(live.Sequence, []knock.Step{tcp(4000), udp(5000)}) || live.OneTimeFile == "" {
				t.Errorf("live one-time door = %+v, want the file's first line as its sequence", live)
			}
			wantDisabled := []struct {
				name   string
				index  int
				reason string
			}{
				{"used", 1, "no sequences left"},
				{"missing", 3, "no such file or directory"},
			}
			if len(c.Disabled) != len(wantDisabled) {
				t.Fatalf("Disabled = %+v, want %d doors", c.Disabled, len(wantDisabled))
			}
			for i, w := range wantDisabled {
				d := c.Disabled[i]
				if d.Door.Name != w.name || d.Index != w.index || !strings.Contains(d.Reason, w.reason) {
					t.Errorf("Disabled[%d] = %q at %d (%s), want %q at %d (%s)", i, d.Door.Name, d.Index, d.Reason, w.name, w.index, w.reason)
				}
			}
			// Written back, the disabled doors keep their place and say why.
			text := tomlText(t, c)
			if !strings.Contains(text, "# disabled: "+c.Disabled[0].Reason+"\n[[door]]\nname = \"used\"") {
				t.Errorf("WriteTOML does not explain the disabled door:\n%s", text)
			}
			checkRoundTrip(t, c)
		})
	}
}

// A line of a one-time file that is not a sequence is skipped with a
// warning in Config.Warnings naming the file and the line, in both
// syntaxes.
func TestOneTimeWarningsInConfig(t *testing.T) {
	seqs := writeFile(t, "seqs", "#1111,2222\n 70O0,8000\n 7000,8000\n")
	want := []string{"config: one_time_sequences " + seqs + `: line 2 skipped: port "70O0" is not a number: fix or remove it`}
	for _, syntax := range []struct{ name, text string }{
		{"knockd.conf", "[once]\nOne_Time_Sequences = " + seqs + "\n"},
		{"toml", "[[door]]\nname = \"once\"\none_time_sequences = \"" + seqs + "\"\n"},
	} {
		t.Run(syntax.name, func(t *testing.T) {
			c, err := Parse(syntax.name, []byte(syntax.text))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !slices.Equal(want, c.Warnings) {
				t.Errorf("Warnings (-want +got):\n-%q\n+%q", want, c.Warnings)
			}
			if got := c.Doors[0].Sequence; !slices.Equal(got, []knock.Step{tcp(7000), tcp(8000)}) {
				t.Errorf("sequence = %v, want the first valid line's", got)
			}
		})
	}
}

// FuzzOneTime reads arbitrary one-time files: whatever firstSequence
// picks is a valid sequence on an unused line; marking that line used as
// MarkUsed does moves on to a later line; looking the picked sequence up
// again (MarkUsed's search) finds the same line; and the invalid lines it
// reports lie before it.
func FuzzOneTime(f *testing.F) {
	for _, seed := range []string{
		"# sequences for smtp\n\n 7000,8000\n not,a,sequence\n 9000:udp,1000\n1234,5678\n",
		" 1,2\n 3,4\n",
		"#7000\n# 8000\n",
		" 4000,5000:udp\n",
		"#1111,2222\n 70O0,8000\n 7000,8000\n",
		"7000,8000", // no final newline
		"\r\n 1:UDP , 2 \r\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		offset, steps, ok, invalid := firstSequence(data, nil)
		lines := 1 + strings.Count(string(data), "\n")
		for _, l := range invalid {
			if l.line < 1 || l.line > lines || l.err == nil {
				t.Fatalf("invalid line %d (%v) in a file of %d lines", l.line, l.err, lines)
			}
		}
		if !ok {
			return
		}
		if offset < 0 || offset >= len(data) || (offset > 0 && data[offset-1] != '\n') {
			t.Fatalf("offset %d is not the start of a line of %q", offset, data)
		}
		line := data[offset:]
		if i := strings.IndexByte(string(line), '\n'); i >= 0 {
			line = line[:i]
		}
		text := strings.TrimSpace(string(line))
		if text == "" || text[0] == '#' {
			t.Fatalf("picked the used or blank line %q", line)
		}
		if again, err := parseSequence(text); err != nil || !slices.Equal(again, steps) {
			t.Fatalf("picked line %q reads %v, %v; firstSequence said %v", text, again, err, steps)
		}
		if len(steps) < 1 || len(steps) > MaxSequenceLength {
			t.Fatalf("%d steps, want 1-%d", len(steps), MaxSequenceLength)
		}
		for _, st := range steps {
			if st.Port == 0 || (st.Proto != knock.TCP && st.Proto != knock.UDP) {
				t.Fatalf("invalid step %+v", st)
			}
		}
		if n := 1 + strings.Count(string(data[:offset]), "\n"); len(invalid) > 0 && invalid[len(invalid)-1].line >= n {
			t.Fatalf("invalid line %d reported at or after the sequence's line %d", invalid[len(invalid)-1].line, n)
		}
		if found, _, ok, _ := firstSequence(data, steps); !ok || found != offset {
			t.Fatalf("looking %v up again found offset %d (%v), want %d", steps, found, ok, offset)
		}
		marked := slices.Clone(data)
		marked[offset] = '#'
		if next, _, ok, _ := firstSequence(marked, nil); ok && next <= offset {
			t.Fatalf("after marking the line at %d used, the next sequence is at %d", offset, next)
		}
	})
}
