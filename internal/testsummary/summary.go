package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// An event is one line of "go test -json" (cmd/test2json's TestEvent).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// A Tier is what one tier of the test run came to; scripts/test records
// one per tier and the report sums them.
type Tier struct {
	Name    string
	Passed  int
	Failed  int
	Skipped int
	// Failures names each failed test ("PACKAGE TestName/sub") or step.
	Failures []string `json:",omitempty"`
	Skips    []Skip   `json:",omitempty"`
}

// A Skip is a skipped test and the reason it gave.
type Skip struct {
	Test   string // "PACKAGE TestName/sub"
	Reason string
}

// A testState is what is known of one test while its events come.
type testState struct {
	output []string // its log lines, without the "=== RUN" and "--- X" lines
	done   bool
}

// A collector reads "go test -json" events into a Tier.
type collector struct {
	tier  Tier
	tests map[string]*testState // by "PACKAGE Test"
	order []string              // keys in the order the tests started
	// failedTests counts the failed tests of each package, to tell a
	// package that failed with no failed test (a build error, a panic or
	// TestMain) from one whose tests failed.
	failedTests map[string]int
}

func newCollector(name string) *collector {
	return &collector{tier: Tier{Name: name}, tests: map[string]*testState{}, failedTests: map[string]int{}}
}

// readJSON reads go test -json from r, writing every line of the tests'
// own output to echo as it comes (so that a person watching sees go
// test's usual output), and lines that are not JSON (the go command's
// own messages) unchanged.
func (c *collector) readJSON(r io.Reader, echo io.Writer) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			fmt.Fprintf(echo, "%s\n", line)
			continue
		}
		io.WriteString(echo, ev.Output)
		c.add(ev)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("testsummary: reading go test -json: %w", err)
	}
	c.finish()
	return nil
}

func (c *collector) add(ev event) {
	if ev.Test == "" {
		// A package's own result: only its failure tells something the
		// tests' results do not.
		if ev.Action == "fail" && c.failedTests[ev.Package] == 0 && !c.unfinishedIn(ev.Package) {
			c.tier.Failed++
			c.tier.Failures = append(c.tier.Failures, ev.Package+" (the package failed outside its tests: a build error, a panic or TestMain; see its output above)")
		}
		return
	}
	key := ev.Package + " " + ev.Test
	st := c.tests[key]
	if st == nil {
		st = &testState{}
		c.tests[key] = st
		c.order = append(c.order, key)
	}
	switch ev.Action {
	case "output":
		if !isFrame(ev.Output) {
			st.output = append(st.output, ev.Output)
		}
	case "pass":
		st.done = true
		c.tier.Passed++
	case "fail":
		st.done = true
		c.tier.Failed++
		c.failedTests[ev.Package]++
		c.tier.Failures = append(c.tier.Failures, key)
	case "skip":
		st.done = true
		c.tier.Skipped++
		c.tier.Skips = append(c.tier.Skips, Skip{Test: key, Reason: skipReason(st.output)})
	}
}

// unfinishedIn tells whether a test of pkg started and never ended: the
// package then failed through it (a timeout, a panic), and finish counts
// it.
func (c *collector) unfinishedIn(pkg string) bool {
	for _, key := range c.order {
		if !c.tests[key].done && strings.HasPrefix(key, pkg+" ") {
			return true
		}
	}
	return false
}

// finish counts as failed every test that started and never ended: its
// package panicked or timed out while it ran.
func (c *collector) finish() {
	for _, key := range c.order {
		if st := c.tests[key]; !st.done {
			st.done = true
			c.tier.Failed++
			c.tier.Failures = append(c.tier.Failures, key+" (did not finish: a panic or a timeout)")
		}
	}
}

// isFrame tells go test's own lines about a test ("=== RUN", "--- PASS:",
// ...) from what the test logged.
func isFrame(line string) bool {
	s := strings.TrimLeft(line, " ")
	for _, p := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME", "--- PASS", "--- FAIL", "--- SKIP"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// skipReason is the last message a skipped test logged, which is what
// t.Skip said: "    file_test.go:12: needs root" and the lines indented
// under it, without the file and line.
func skipReason(output []string) string {
	start := -1
	for i, line := range output {
		if isLogStart(line) {
			start = i
		}
	}
	if start < 0 {
		return "(no reason given)"
	}
	first := strings.TrimSpace(output[start])
	if _, msg, ok := strings.Cut(first, ": "); ok {
		first = msg
	}
	parts := []string{first}
	for _, line := range output[start+1:] {
		if s := strings.TrimSpace(line); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

// isLogStart tells whether line begins a t.Log message: indented, then
// "name.go:LINE: ".
func isLogStart(line string) bool {
	s := strings.TrimLeft(line, " ")
	if s == line {
		return false
	}
	file, rest, ok := strings.Cut(s, ":")
	if !ok || !strings.HasSuffix(file, ".go") {
		return false
	}
	num, _, ok := strings.Cut(rest, ": ")
	return ok && num != "" && strings.Trim(num, "0123456789") == ""
}

// report writes the summary of tiers: one line per tier, then every
// skipped test with its reason (grouped by reason), every failure, and
// last the whole run's "N passed, N failed, N skipped". notRoot adds
// what a run as root would have run.
func report(w io.Writer, tiers []Tier, notRoot bool) (failed bool) {
	var passed, failedN, skipped int
	fmt.Fprintln(w, "\n==== summary ====")
	for _, t := range tiers {
		passed += t.Passed
		failedN += t.Failed
		skipped += t.Skipped
		status := "passed"
		switch {
		case t.Failed > 0:
			status = "FAILED"
		case t.Passed == 0 && t.Skipped > 0:
			status = "did not run: every test skipped (reasons below)"
		case t.Passed == 0:
			status = "ran nothing"
		}
		fmt.Fprintf(w, "%-28s %4d passed, %3d failed, %3d skipped   %s\n", t.Name+":", t.Passed, t.Failed, t.Skipped, status)
	}
	if notRoot {
		fmt.Fprintln(w, "\nNot run as root: no missing tool was installed, and the tests that need root, or a tool")
		fmt.Fprintln(w, "only root could install, skipped:")
		for _, t := range tiers {
			switch total := t.Passed + t.Failed + t.Skipped; {
			case t.Skipped > 0 && t.Skipped == total:
				fmt.Fprintf(w, "  %s: did not run at all (%d of %d tests skipped)\n", t.Name, t.Skipped, total)
			case t.Skipped > 0:
				fmt.Fprintf(w, "  %s: %d of its %d tests skipped\n", t.Name, t.Skipped, total)
			default:
				fmt.Fprintf(w, "  %s: ran in full\n", t.Name)
			}
		}
		fmt.Fprintln(w, "Each skipped test's reason is below. Run ./scripts/test as root to run them all.")
	}
	for _, t := range tiers {
		if len(t.Skips) == 0 {
			continue
		}
		fmt.Fprintf(w, "\nskipped in %s, by reason:\n", t.Name)
		byReason := map[string][]string{}
		var reasons []string
		for _, s := range t.Skips {
			if byReason[s.Reason] == nil {
				reasons = append(reasons, s.Reason)
			}
			byReason[s.Reason] = append(byReason[s.Reason], s.Test)
		}
		for _, r := range reasons {
			fmt.Fprintf(w, "  %s\n", r)
			for _, test := range byReason[r] {
				fmt.Fprintf(w, "      %s\n", test)
			}
		}
	}
	for _, t := range tiers {
		if len(t.Failures) == 0 {
			continue
		}
		fmt.Fprintf(w, "\nfailed in %s:\n", t.Name)
		for _, f := range slices.Compact(slices.Clone(t.Failures)) {
			fmt.Fprintf(w, "  %s\n", f)
		}
	}
	fmt.Fprintf(w, "\n%d passed, %d failed, %d skipped\n", passed, failedN, skipped)
	return failedN > 0
}
