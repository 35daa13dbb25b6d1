package source

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/config"
)

func tcp(port uint16) knock.Step { return knock.Step{Proto: knock.TCP, Port: port} }
func udp(port uint16) knock.Step { return knock.Step{Proto: knock.UDP, Port: port} }

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
	ot := config.OneTime{Path: path}
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
		if err := MarkUsed(ot, got); err != nil {
			t.Fatalf("step %d: MarkUsed: %v", i, err)
		}
		if got := readFile(t, path); got != st.fileThen {
			t.Fatalf("step %d: file after MarkUsed (-want +got):\n-%q\n+%q", i, st.fileThen, got)
		}
	}
	_, warnings, err := ot.Current()
	if !slices.Equal(warnings, []string{invalid}) {
		t.Errorf("warnings of the used-up file = %q, want %q", warnings, invalid)
	}
	if !errors.Is(err, config.ErrUsedUp) {
		t.Fatalf("Current on a used-up file = %v, want config.ErrUsedUp", err)
	}
	if want := "config: one_time_sequences " + path + ": no sequences left (every line is used or invalid): add new sequences to the file, then reload"; err.Error() != want {
		t.Errorf("error (-want +got):\n-%s\n+%s", want, err)
	}
}

// MarkUsed marks the first unused line equal to the used sequence, so
// lines appended or marked since Current still leave the right one marked.
func TestOneTimeMarkUsedFindsTheSequence(t *testing.T) {
	path := writeFile(t, "seqs", " 1,2\n 3,4\n")
	ot := config.OneTime{Path: path}
	if err := MarkUsed(ot, []knock.Step{tcp(3), tcp(4)}); err != nil {
		t.Fatalf("MarkUsed: %v", err)
	}
	if got, want := readFile(t, path), " 1,2\n#3,4\n"; got != want {
		t.Errorf("file = %q, want %q", got, want)
	}
	err := MarkUsed(ot, []knock.Step{tcp(3), tcp(4)})
	if err == nil || !strings.Contains(err.Error(), "no longer in the file") {
		t.Errorf("MarkUsed of a used sequence = %v, want an error saying it is gone", err)
	}
	if got, want := readFile(t, path), " 1,2\n#3,4\n"; got != want {
		t.Errorf("a failed MarkUsed changed the file to %q", got)
	}
}
