package packagetest

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// manPages are the pages in man/, by the program they describe ("" for
// the config file's page, which has keys instead of flags).
var manPages = []struct{ file, program string }{
	{"man/knockbeepd.8", "knockbeepd"},
	{"man/knock.1", "knock"},
	{"man/beep.1", "beep"},
	{"man/knockbeepd.toml.5", ""},
}

// mdocFlagRE finds the options an mdoc list item documents: "Fl Fl name"
// is --name, "Fl x" is -x.
var mdocFlagRE = regexp.MustCompile(`\bFl (Fl )?([A-Za-z0-9][A-Za-z0-9-]*)`)

// documentedFlags are the options that have an item (.It) of their own in
// an mdoc page: a flag named only in the synopsis or an example does not
// count as documented.
func documentedFlags(page []byte) []string {
	var flags []string
	for _, line := range strings.Split(string(page), "\n") {
		if !strings.HasPrefix(line, ".It ") {
			continue
		}
		for _, m := range mdocFlagRE.FindAllStringSubmatch(line, -1) {
			if m[1] != "" {
				flags = append(flags, "--"+m[2])
			} else {
				flags = append(flags, "-"+m[2])
			}
		}
	}
	return flags
}

func TestManPagesDocumentEveryFlag(t *testing.T) {
	flags := programFlags(t)
	for _, p := range manPages {
		if p.program == "" {
			continue
		}
		t.Run(p.file, func(t *testing.T) {
			page, err := os.ReadFile(repoPath(t, p.file))
			if err != nil {
				t.Fatal(err)
			}
			documented := documentedFlags(page)
			for _, f := range flags[p.program] {
				if !slices.Contains(documented, f) {
					t.Errorf("%s accepts %s, which %s has no .It item for", p.program, f, p.file)
				}
			}
			for _, f := range documented {
				if !slices.Contains(flags[p.program], f) {
					t.Errorf("%s documents %s, which %s does not accept", p.file, f, p.program)
				}
			}
		})
	}
}

// tomlKeyRE finds the keys knock/config decodes: the toml struct tags.
var tomlKeyRE = regexp.MustCompile("`toml:\"([a-z0-9_]+)\"`")

// TestManPageDocumentsEveryConfigKey checks knockbeepd.toml(5) against
// the keys package config reads (its struct tags): each must have an item,
// "Ic key" in an .It line.
func TestManPageDocumentsEveryConfigKey(t *testing.T) {
	src, err := os.ReadFile(repoPath(t, "knock/config/toml.go"))
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(repoPath(t, "man/knockbeepd.toml.5"))
	if err != nil {
		t.Fatal(err)
	}
	var items []string
	for _, line := range strings.Split(string(page), "\n") {
		if strings.HasPrefix(line, ".It Ic ") {
			for _, w := range strings.Fields(strings.TrimPrefix(line, ".It Ic ")) {
				items = append(items, strings.Trim(w, ","))
			}
		}
	}
	keys := tomlKeyRE.FindAllStringSubmatch(string(src), -1)
	if len(keys) < 40 {
		t.Fatalf("found %d keys in knock/config/toml.go, want the 40 and more it has: has the struct moved?", len(keys))
	}
	for _, k := range keys {
		if k[1] == "log" || k[1] == "music" || k[1] == "http" || k[1] == "cluster" || k[1] == "door" {
			// tables, with a section (.Ss) each
			if !bytes.Contains(page, []byte(".Ss ["+k[1]+"]")) && !bytes.Contains(page, []byte(".Ss [["+k[1]+"]]")) {
				t.Errorf("man/knockbeepd.toml.5 has no section for [%s]", k[1])
			}
			continue
		}
		if !slices.Contains(items, k[1]) {
			t.Errorf("knockbeepd reads the key %q, which man/knockbeepd.toml.5 has no .It Ic item for", k[1])
		}
	}
}

var overstrikeRE = regexp.MustCompile(".\b")

// TestManPagesRender renders each page with man, as a Debian system
// will, and fails on any warning groff or man prints.
func TestManPagesRender(t *testing.T) {
	man, err := exec.LookPath("man")
	if err != nil {
		t.Skip("needs man to render the man pages: apt-get install man-db")
	}
	for _, p := range manPages {
		t.Run(p.file, func(t *testing.T) {
			cmd := exec.Command(man, "--warnings", "-E", "UTF-8", "-l", repoPath(t, p.file))
			cmd.Env = append(os.Environ(), "MANWIDTH=80", "MAN_KEEP_FORMATTING=0", "LC_ALL=C.UTF-8")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("man --warnings -l %s: %v\n%s", p.file, err, stderr.Bytes())
			}
			if stderr.Len() > 0 {
				t.Errorf("man --warnings -l %s warns:\n%s", p.file, stderr.Bytes())
			}
			// Bold and underline come as overstrikes ("N\bN") when
			// the output is not a terminal.
			text := overstrikeRE.ReplaceAllString(stdout.String(), "")
			if !strings.Contains(text, "\nNAME\n") || len(text) < 1000 {
				t.Errorf("man -l %s rendered %d bytes without a NAME section:\n%s", p.file, len(text), text)
			}
		})
	}
}
