package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  testsummary tests -tier NAME -results FILE -- go test -json [ARG...]
  testsummary step -tier NAME -results FILE -- COMMAND [ARG...]
  testsummary report -results FILE

tests runs go test -json, prints the tests' output as it comes, and adds
the tier's counts, failures and skip reasons to FILE; go test failing with
no failed test counts as one failure. step runs a command that is a check
of its own (go vet, go build) and adds it to FILE as one check that passed
or failed. report prints the summary of every tier in FILE and ends with
"N passed, N failed, N skipped".

Exit status: 0 when nothing failed, 1 when something failed, 2 on a usage
or file error.
`

// run is the program: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("testsummary "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	tier := fs.String("tier", "", "the tier's name")
	results := fs.String("results", "", "the file that collects the tiers' results")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *results == "" || (args[0] != "report" && *tier == "") {
		fmt.Fprintf(stderr, "testsummary %s: -results (and, but for report, -tier) are needed\n%s", args[0], usage)
		return 2
	}
	if args[0] != "report" && fs.NArg() == 0 {
		fmt.Fprintf(stderr, "testsummary %s: no command\n%s", args[0], usage)
		return 2
	}
	var t Tier
	switch args[0] {
	case "tests":
		var err error
		if t, err = tests(*tier, fs.Args(), stdout); err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
	case "step":
		t = step(*tier, fs.Args(), stdout, stderr)
	case "report":
		tiers, err := readResults(*results)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		if len(tiers) == 0 {
			fmt.Fprintf(stderr, "testsummary report: %s holds no tier: nothing ran\n", *results)
			return 1
		}
		if report(stdout, tiers, os.Geteuid() != 0) {
			return 1
		}
		return 0
	default:
		fmt.Fprintf(stderr, "testsummary: unknown command %q\n%s", args[0], usage)
		return 2
	}
	if err := appendResult(*results, t); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if t.Failed > 0 {
		return 1
	}
	return 0
}

// tests runs argv, a go test -json, its output and errors both read as
// events, and returns its tier.
func tests(name string, argv []string, stdout io.Writer) (Tier, error) {
	c := newCollector(name)
	pr, pw := io.Pipe()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return Tier{}, fmt.Errorf("testsummary: %s: %w", name, err)
	}
	waited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.Close()
		waited <- err
	}()
	if err := c.readJSON(pr, stdout); err != nil {
		c.finish()
		c.tier.Failed++
		c.tier.Failures = append(c.tier.Failures, err.Error())
		io.Copy(io.Discard, pr) // let the command finish
	}
	if err := <-waited; err != nil && c.tier.Failed == 0 {
		c.tier.Failed = 1
		c.tier.Failures = append(c.tier.Failures, fmt.Sprintf("%q: %v, with no failed test (see its output above)", argv, err))
	}
	return c.tier, nil
}

// step runs argv, its output going to stdout and stderr, as a tier of one
// check.
func step(name string, argv []string, stdout, stderr io.Writer) Tier {
	t := Tier{Name: name}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(stderr, "testsummary: %s: %v\n", name, err)
		t.Failed = 1
		t.Failures = []string{fmt.Sprintf("%q: %v", argv, err)}
		return t
	}
	t.Passed = 1
	return t
}

// appendResult adds t to the results file, one JSON object a line.
func appendResult(path string, t Tier) error {
	b, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("testsummary: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("testsummary: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	return errors.Join(err, f.Close())
}

// readResults reads the tiers appendResult wrote, in order.
func readResults(path string) ([]Tier, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("testsummary: %w", err)
	}
	var tiers []Tier
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 64*1024*1024)
	for n := 1; sc.Scan(); n++ {
		var t Tier
		if err := json.Unmarshal(sc.Bytes(), &t); err != nil {
			return nil, fmt.Errorf("testsummary: %s: line %d: %w (the file is written by testsummary tests and step only)", path, n, err)
		}
		tiers = append(tiers, t)
	}
	return tiers, sc.Err()
}
