package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// hangJSON is a package whose test was still running when the binary
// died (a timeout), after a line the go command printed itself.
const hangJSON = `go: downloading example.com/x v1.0.0
{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestHang"}
{"Action":"output","Package":"p","Test":"TestHang","Output":"=== RUN   TestHang\n"}
{"Action":"output","Package":"p","Test":"TestHang","Output":"panic: test timed out after 1s\n"}
{"Action":"output","Package":"p","Output":"FAIL\tp\t1.002s\n"}
{"Action":"fail","Package":"p","Elapsed":1.002}
`

var collectCases = []struct {
	name string
	json string // "": testdata/sample.json
	want Tier
	echo []string // each in what is echoed
}{
	{
		// testdata/sample.json is go test -json ./... of three packages:
		// samp (a pass with a log line, a skip after another log line with
		// a two-line reason, a failure, a test with a skipped and a passed
		// subtest), samp/p (a test that panics, and one that never ran)
		// and samp/b (a build error).
		name: "passes, skips, failures, a panic, a build error",
		want: Tier{
			Name: "t", Passed: 3, Failed: 3, Skipped: 2,
			Failures: []string{
				"samp/b (the package failed outside its tests: a build error, a panic or TestMain; see its output above)",
				"samp/p TestPanic",
				"samp TestFail",
			},
			Skips: []Skip{
				{Test: "samp TestSkip", Reason: "needs root: run as root"},
				{Test: "samp TestSub/a", Reason: "no qemu"},
			},
		},
		echo: []string{
			"b/b_test.go:3:28: undefined: undefined\n",
			"=== RUN   TestPass\n    a_test.go:3: hello\n--- PASS: TestPass (0.00s)\n",
			"--- FAIL: TestFail (0.00s)\n",
			"panic: oops",
			"FAIL\tsamp\t",
		},
	},
	{
		name: "a test that never ended",
		json: hangJSON,
		want: Tier{Name: "t", Failed: 1, Failures: []string{"p TestHang (did not finish: a panic or a timeout)"}},
		echo: []string{"go: downloading example.com/x v1.0.0\n", "panic: test timed out after 1s\n", "FAIL\tp\t1.002s\n"},
	},
	{
		name: "a skip with no reason",
		json: `{"Action":"output","Package":"q","Test":"TestS","Output":"=== RUN   TestS\n"}
{"Action":"output","Package":"q","Test":"TestS","Output":"--- SKIP: TestS (0.00s)\n"}
{"Action":"skip","Package":"q","Test":"TestS"}
{"Action":"pass","Package":"q"}
`,
		want: Tier{Name: "t", Skipped: 1, Skips: []Skip{{Test: "q TestS", Reason: "(no reason given)"}}},
	},
	{name: "nothing", json: "", want: Tier{Name: "t"}},
}

func TestCollect(t *testing.T) {
	for _, tt := range collectCases {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.json
			if in == "" && tt.name != "nothing" {
				b, err := os.ReadFile(filepath.Join("testdata", "sample.json"))
				if err != nil {
					t.Fatal(err)
				}
				in = string(b)
			}
			c := newCollector("t")
			var echo bytes.Buffer
			if err := c.readJSON(strings.NewReader(in), &echo); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.tier, tt.want) {
				t.Errorf("tier (-want +got):\n-%+v\n+%+v", tt.want, c.tier)
			}
			for _, e := range tt.echo {
				if !strings.Contains(echo.String(), e) {
					t.Errorf("echoed output lacks %q:\n%s", e, echo.String())
				}
			}
		})
	}
}

// FuzzCollect feeds the collector arbitrary lines: it never panics, echoes
// every line that is not an event, and counts each test that ends once.
func FuzzCollect(f *testing.F) {
	for _, tt := range collectCases {
		f.Add(tt.json)
	}
	sample, err := os.ReadFile(filepath.Join("testdata", "sample.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(sample))
	f.Fuzz(func(t *testing.T, in string) {
		c := newCollector("t")
		var echo bytes.Buffer
		if err := c.readJSON(strings.NewReader(in), &echo); err != nil {
			return // a line longer than the scanner takes
		}
		ended := c.tier.Passed + c.tier.Failed + c.tier.Skipped
		if c.tier.Failed != len(c.tier.Failures) || c.tier.Skipped != len(c.tier.Skips) {
			t.Errorf("counts %+v disagree with the lists", c.tier)
		}
		if ended < len(c.tests) && c.tier.Failed == 0 {
			t.Errorf("%d tests started, %d ended, none failed", len(c.tests), ended)
		}
	})
}

func TestSkipReason(t *testing.T) {
	for _, tt := range []struct {
		name   string
		output []string
		want   string
	}{
		{"one line", []string{"    x_test.go:7: needs root\n"}, "needs root"},
		{"the last message", []string{"    x_test.go:7: first\n", "    x_test.go:9: needs qemu: apt-get install qemu-system-x86\n"}, "needs qemu: apt-get install qemu-system-x86"},
		{"continued lines", []string{"    x_test.go:7: needs root:\n", "        run as root\n"}, "needs root: run as root"},
		{"a subtest's deeper indent", []string{"        x_test.go:12: no /dev/tty0\n"}, "no /dev/tty0"},
		{"not a log line", []string{"some output\n"}, "(no reason given)"},
		{"a colon in the reason", []string{"    x_test.go:7: strace: ptrace: EPERM\n"}, "strace: ptrace: EPERM"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := skipReason(tt.output); got != tt.want {
				t.Errorf("skipReason(%q) = %q, want %q", tt.output, got, tt.want)
			}
		})
	}
}

func TestReport(t *testing.T) {
	tiers := []Tier{
		{Name: "vet (linux)", Passed: 1},
		{Name: "unit and privileged", Passed: 10, Skipped: 2, Skips: []Skip{
			{Test: "a TestX", Reason: "needs root"}, {Test: "b TestY", Reason: "needs root"},
		}},
		{Name: "emulated speaker", Skipped: 1, Skips: []Skip{{Test: "c TestQ", Reason: "needs root"}}},
	}
	var out bytes.Buffer
	if failed := report(&out, tiers, true); failed {
		t.Error("report says failed, with no failure")
	}
	for _, want := range []string{
		"vet (linux):                    1 passed,   0 failed,   0 skipped   passed\n",
		"emulated speaker:               0 passed,   0 failed,   1 skipped   did not run: every test skipped (reasons below)\n",
		"Not run as root",
		"  vet (linux): ran in full\n  unit and privileged: 2 of its 12 tests skipped\n  emulated speaker: did not run at all (1 of 1 tests skipped)\n",
		"skipped in unit and privileged, by reason:\n  needs root\n      a TestX\n      b TestY\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.HasSuffix(out.String(), "\n11 passed, 0 failed, 3 skipped\n") {
		t.Errorf("report does not end with the totals:\n%s", out.String())
	}

	out.Reset()
	tiers = append(tiers, Tier{Name: "freebsd build", Failed: 1, Failures: []string{`["go" "build"]: exit status 1`}})
	if failed := report(&out, tiers, false); !failed {
		t.Error("report says nothing failed, with a failure")
	}
	for _, want := range []string{"freebsd build:                  0 passed,   1 failed,   0 skipped   FAILED\n", "failed in freebsd build:\n  [\"go\" \"build\"]: exit status 1\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "Not run as root") {
		t.Errorf("a root run's report says it was not root:\n%s", out.String())
	}
	if !strings.HasSuffix(out.String(), "\n11 passed, 1 failed, 3 skipped\n") {
		t.Errorf("report does not end with the totals:\n%s", out.String())
	}
}

// TestRun drives the program as scripts/test does: a step that passes, one
// that fails, a tier of tests, and the report.
func TestRun(t *testing.T) {
	results := filepath.Join(t.TempDir(), "results")
	var stdout, stderr bytes.Buffer
	runIt := func(args ...string) int {
		stdout.Reset()
		stderr.Reset()
		return run(args, &stdout, &stderr)
	}
	if code := runIt("step", "-tier", "true", "-results", results, "--", "true"); code != 0 {
		t.Errorf("step true: exit %d, want 0; stderr: %s", code, stderr.String())
	}
	if code := runIt("step", "-tier", "false", "-results", results, "--", "false"); code != 1 {
		t.Errorf("step false: exit %d, want 1", code)
	}
	hang := filepath.Join(t.TempDir(), "hang.json")
	if err := os.WriteFile(hang, []byte(hangJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := runIt("tests", "-tier", "hang", "-results", results, "--", "cat", hang); code != 1 {
		t.Errorf("tests with a failure: exit %d, want 1", code)
	}
	if !strings.Contains(stdout.String(), "panic: test timed out") {
		t.Errorf("tests did not echo the output:\n%s", stdout.String())
	}
	// go test failing before any test ran: its error, on stderr, is
	// echoed, and counts as one failure.
	if code := runIt("tests", "-tier", "setup", "-results", results, "--", "sh", "-c", "echo 'go: no Go files' >&2; exit 1"); code != 1 {
		t.Errorf("tests of a command that fails with no test: exit %d, want 1", code)
	}
	if !strings.Contains(stdout.String(), "go: no Go files\n") {
		t.Errorf("tests did not echo the command's standard error:\n%s", stdout.String())
	}
	code := runIt("report", "-results", results)
	if code != 1 || !strings.HasSuffix(stdout.String(), "\n1 passed, 3 failed, 0 skipped\n") {
		t.Errorf("report: exit %d, want 1, ending in the totals:\n%s", code, stdout.String())
	}
	if !strings.Contains(stdout.String(), `["sh" "-c" "echo 'go: no Go files' >&2; exit 1"]: exit status 1, with no failed test`) {
		t.Errorf("report does not name the command that failed with no test:\n%s", stdout.String())
	}

	for _, tt := range []struct {
		name string
		args []string
		code int
	}{
		{"no command", nil, 2},
		{"unknown command", []string{"frob", "-results", results}, 2},
		{"no -results", []string{"tests", "-tier", "x"}, 2},
		{"no -tier", []string{"step", "-results", results, "--", "true"}, 2},
		{"step without a command", []string{"step", "-tier", "x", "-results", results}, 2},
		{"tests without a command", []string{"tests", "-tier", "x", "-results", results}, 2},
		{"report of no file", []string{"report", "-results", filepath.Join(t.TempDir(), "none")}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if code := runIt(tt.args...); code != tt.code {
				t.Errorf("run(%q) = %d, want %d; stderr: %s", tt.args, code, tt.code, stderr.String())
			}
		})
	}
}
