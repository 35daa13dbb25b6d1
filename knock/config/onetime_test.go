package config

import (
	"errors"
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

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// A one-time file advances line by line, each used line marked with '#'
// over its first byte exactly as knockd marks it, and then is used up.
func TestOneTimeAdvanceAndExhaust(t *testing.T) {
	path := writeFile(t, "seqs", "# sequences for smtp\n\n 7000,8000\n not,a,sequence\n 9000:udp,1000\n1234,5678\n")
	ot := OneTime{Path: path}
	invalid := "config: one_time_sequences " + path + `: line 4 skipped: port "not" is not a number: fix or remove it`
	steps := []struct {
		current  []knock.Step
		warnings []string // the invalid lines skipped to reach current
		fileThen string
	}{
		{[]knock.Step{tcp(7000), tcp(8000)}, nil, "# sequences for smtp\n\n#7000,8000\n not,a,sequence\n 9000:udp,1000\n1234,5678\n"},
		{[]knock.Step{udp(9000), tcp(1000)}, []string{invalid}, "# sequences for smtp\n\n#7000,8000\n not,a,sequence\n#9000:udp,1000\n1234,5678\n"},
		// No leading space: knockd's '#' eats the first digit, as its man page warns.
		{[]knock.Step{tcp(1234), tcp(5678)}, []string{invalid}, "# sequences for smtp\n\n#7000,8000\n not,a,sequence\n#9000:udp,1000\n#234,5678\n"},
	}
	for i, st := range steps {
		got, warnings, err := ot.Current()
		if err != nil {
			t.Fatalf("step %d: Current: %v", i, err)
		}
		if !slices.Equal(got, st.current) {
			t.Fatalf("step %d: Current = %v, want %v", i, got, st.current)
		}
		if !slices.Equal(warnings, st.warnings) {
			t.Errorf("step %d: warnings (-want +got):\n-%q\n+%q", i, st.warnings, warnings)
		}
		if err := ot.MarkUsed(got); err != nil {
			t.Fatalf("step %d: MarkUsed: %v", i, err)
		}
		if d := lineDiff(st.fileThen, readFile(t, path)); d != "" {
			t.Fatalf("step %d: file after MarkUsed (-want +got):\n%s", i, d)
		}
	}
	_, warnings, err := ot.Current()
	if !slices.Equal(warnings, []string{invalid}) {
		t.Errorf("warnings of the used-up file = %q, want %q", warnings, invalid)
	}
	if !errors.Is(err, ErrUsedUp) {
		t.Fatalf("Current on a used-up file = %v, want ErrUsedUp", err)
	}
	if want := "config: one_time_sequences " + path + ": no sequences left (every line is used or invalid): add new sequences to the file, then reload"; err.Error() != want {
		t.Errorf("error (-want +got):\n-%s\n+%s", want, err)
	}
}

// MarkUsed marks the first unused line equal to the used sequence, so
// lines appended or marked since Current still leave the right one marked.
func TestOneTimeMarkUsedFindsTheSequence(t *testing.T) {
	path := writeFile(t, "seqs", " 1,2\n 3,4\n")
	ot := OneTime{Path: path}
	if err := ot.MarkUsed([]knock.Step{tcp(3), tcp(4)}); err != nil {
		t.Fatalf("MarkUsed: %v", err)
	}
	if got, want := readFile(t, path), " 1,2\n#3,4\n"; got != want {
		t.Errorf("file = %q, want %q", got, want)
	}
	err := ot.MarkUsed([]knock.Step{tcp(3), tcp(4)})
	if err == nil || !strings.Contains(err.Error(), "no longer in the file") {
		t.Errorf("MarkUsed of a used sequence = %v, want an error saying it is gone", err)
	}
	if got, want := readFile(t, path), " 1,2\n#3,4\n"; got != want {
		t.Errorf("a failed MarkUsed changed the file to %q", got)
	}
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
		if len(steps) < 1 || len(steps) > MaxSteps {
			t.Fatalf("%d steps, want 1-%d", len(steps), MaxSteps)
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
