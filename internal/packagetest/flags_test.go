package packagetest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/knockbeep/knockbeep/beeper/beepcli"
)

// programFlags returns, for each program, every option it accepts,
// spelled "-c" and "--config".
func programFlags(t *testing.T) map[string][]string {
	t.Helper()
	return map[string][]string{
		"knockbeepd": optionTable(t, "knock/daemon"),
		"knock":      optionTable(t, "knock/client"),
		"beep":       usageFlags(beepcli.Usage),
	}
}

// optionTable reads the options a program accepts from its source: the
// composite literal of "var options = []option{...}" in the package at
// dir, whose elements give the short letter and the long name either by
// position ({'c', "config", ...}) or by key ({short: 'u', long: "udp"}).
// knockbeepd and knock hand that table to getopt, so it is exactly what
// they accept.
func optionTable(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoPath(t, dir), "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var flags []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "options" || len(vs.Values) != 1 {
				return true
			}
			table, ok := vs.Values[0].(*ast.CompositeLit)
			if !ok {
				return true
			}
			for _, elt := range table.Elts {
				if lit, ok := elt.(*ast.CompositeLit); ok {
					flags = append(flags, optionFlags(t, fset, lit)...)
				}
			}
			return false
		})
	}
	if len(flags) == 0 {
		t.Fatalf("%s: no option table (var options = []option{...}) found: update optionTable to where the options are now", dir)
	}
	slices.Sort(flags)
	return slices.Compact(flags)
}

// optionFlags is one option table element's "-x" and "--long".
func optionFlags(t *testing.T, fset *token.FileSet, lit *ast.CompositeLit) []string {
	t.Helper()
	var flags []string
	add := func(e ast.Expr, dashes string) {
		b, ok := e.(*ast.BasicLit)
		if !ok || (b.Kind != token.CHAR && b.Kind != token.STRING) {
			return // 0 for "no short option"
		}
		s, err := strconv.Unquote(b.Value)
		if err != nil {
			t.Fatalf("%v: %v", fset.Position(b.Pos()), err)
		}
		flags = append(flags, dashes+s)
	}
	for i, e := range lit.Elts {
		if kv, ok := e.(*ast.KeyValueExpr); ok {
			switch kv.Key.(*ast.Ident).Name {
			case "short":
				add(kv.Value, "-")
			case "long":
				add(kv.Value, "--")
			}
			continue
		}
		switch i {
		case 0:
			add(e, "-")
		case 1:
			add(e, "--")
		}
	}
	if len(flags) == 0 {
		t.Fatalf("%v: an option with neither a short nor a long name", fset.Position(lit.Pos()))
	}
	return flags
}

// usageFlagRE finds options in a usage text: a dash or two after a space,
// "[", "|", "," or "(".
var usageFlagRE = regexp.MustCompile(`(?m)(?:^|[\s\[|,(])(--?[A-Za-z0-9][A-Za-z0-9-]*)`)

// usageFlags reads beep's options from its usage text: beep 1.4's are
// parsed by hand in package sequence, not from a table, and the usage text
// lists each of them (beepcli's tests keep it complete).
func usageFlags(usage string) []string {
	var flags []string
	for _, m := range usageFlagRE.FindAllStringSubmatch(usage, -1) {
		flags = append(flags, m[1])
	}
	slices.Sort(flags)
	return slices.Compact(flags)
}

// TestProgramFlags checks the readers above against options the programs
// are known to take, so that a reader that finds too little fails here
// rather than letting every page pass.
func TestProgramFlags(t *testing.T) {
	flags := programFlags(t)
	for prog, want := range map[string][]string{
		"knockbeepd": {"-c", "--config", "--speaker", "--demo", "-V", "--version", "-d", "--daemon"},
		"knock":      {"-u", "--udp", "-d", "--delay", "--song", "--pitch-base", "-V"},
		"beep":       {"-f", "-l", "-r", "-d", "-D", "-n", "--new", "-s", "-c", "-e", "--device", "--debug", "--verbose", "-h", "--help", "-v", "-V", "--version", "--song", "--wav", "--wav-rate", "--print"},
	} {
		for _, f := range want {
			if !slices.Contains(flags[prog], f) {
				t.Errorf("%s: %s not found among its options %q", prog, f, flags[prog])
			}
		}
	}
	for prog, f := range flags {
		t.Logf("%s: %q", prog, f)
	}
}
