package packagetest

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/knockbeep/knockbeep/songs"
)

// completionFiles are the completion scripts of each program, by shell.
func completionFiles(program string) map[string]string {
	return map[string]string{
		"bash": "completions/bash/" + program,
		"zsh":  "completions/zsh/_" + program,
		"fish": "completions/fish/" + program + ".fish",
	}
}

var (
	bashOptsRE = regexp.MustCompile(`(?m)^\s*local opts='([^']*)'`)
	zshSpecRE  = regexp.MustCompile(`['"]\*?(--?[A-Za-z0-9][A-Za-z0-9-]*)[+=]?\[`)
	quotedRE   = regexp.MustCompile(`'[^']*'|"[^"]*"`)
)

// completedFlags are the options a completion script offers, read the way
// each shell's script spells them: bash's opts word list, zsh's
// _arguments specs, fish's -s and -l names.
func completedFlags(shell, script string) []string {
	var flags []string
	switch shell {
	case "bash":
		for _, m := range bashOptsRE.FindAllStringSubmatch(script, -1) {
			flags = append(flags, strings.Fields(m[1])...)
		}
	case "zsh":
		for _, m := range zshSpecRE.FindAllStringSubmatch(script, -1) {
			flags = append(flags, m[1])
		}
	case "fish":
		for _, line := range strings.Split(script, "\n") {
			if !strings.HasPrefix(line, "complete ") {
				continue
			}
			// Quoted words (descriptions, -n conditions) name no
			// options of their own.
			words := strings.Fields(quotedRE.ReplaceAllString(line, "''"))
			for i := 0; i+1 < len(words); i++ {
				switch words[i] {
				case "-s":
					flags = append(flags, "-"+words[i+1])
				case "-l":
					flags = append(flags, "--"+words[i+1])
				}
			}
		}
	}
	slices.Sort(flags)
	return slices.Compact(flags)
}

// builtInSongs are the embedded songs as users type them.
func builtInSongs() string {
	var names []string
	for _, file := range songs.Names() {
		name, _, _ := strings.Cut(file, ".")
		names = append(names, name)
	}
	return strings.Join(names, " ")
}

// TestCompletionsListEveryFlag checks that every completion script offers
// exactly the options its program accepts, and the built-in songs.
func TestCompletionsListEveryFlag(t *testing.T) {
	flags := programFlags(t)
	for _, program := range []string{"knockbeepd", "knock", "beep"} {
		for shell, file := range completionFiles(program) {
			t.Run(file, func(t *testing.T) {
				script, err := os.ReadFile(repoPath(t, file))
				if err != nil {
					t.Fatal(err)
				}
				offered := completedFlags(shell, string(script))
				for _, f := range flags[program] {
					if !slices.Contains(offered, f) {
						t.Errorf("%s accepts %s, which %s does not offer", program, f, file)
					}
				}
				for _, f := range offered {
					if !slices.Contains(flags[program], f) {
						t.Errorf("%s offers %s, which %s does not accept", file, f, program)
					}
				}
				if !strings.Contains(string(script), builtInSongs()) {
					t.Errorf("%s does not list the built-in songs %q", file, builtInSongs())
				}
			})
		}
	}
}

// A completionCase is a command line being typed and a word the
// completion must offer for its last word.
type completionCase struct {
	program string
	words   []string // the words so far, the one being completed last
	want    string
}

var completionCases = []completionCase{
	{"knock", []string{"knock", "--so"}, "--song"},
	{"knock", []string{"knock", "-u", "--song", "imp"}, "imperial-march"},
	{"knock", []string{"knock", "--pitch-"}, "--pitch-base"},
	{"knockbeepd", []string{"knockbeepd", "--spe"}, "--speaker"},
	{"knockbeepd", []string{"knockbeepd", "--speaker", "ev"}, "evdev"},
	{"knockbeepd", []string{"knockbeepd", "-i", "an"}, "any"},
	{"knockbeepd", []string{"knockbeepd", "--demo", "ode"}, "ode-to-joy"},
	{"beep", []string{"beep", "--wav-r"}, "--wav-rate"},
	{"beep", []string{"beep", "-f", "440", "--song", "tw"}, "twinkle-twinkle"},
}

// TestBashCompletion sources each bash script into a plain bash (no
// bash-completion package needed), checks that "complete -p" shows it
// registered, and calls its function with COMP_WORDS and COMP_CWORD as
// bash would when Tab is pressed.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("needs bash")
	}
	for _, tt := range completionCases {
		t.Run(strings.Join(tt.words, " "), func(t *testing.T) {
			file := repoPath(t, completionFiles(tt.program)["bash"])
			var quoted []string
			for _, w := range tt.words {
				quoted = append(quoted, fmt.Sprintf("%q", w))
			}
			script := fmt.Sprintf(`source %q
complete -p %s
COMP_WORDS=(%s)
COMP_CWORD=%d
_%s
printf 'reply:%%s\n' "${COMPREPLY[@]}"
`, file, tt.program, strings.Join(quoted, " "), len(tt.words)-1, tt.program)
			cmd := exec.Command(bash, "--norc", "--noprofile", "-c", script)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil || stderr.Len() > 0 {
				// compopt, which fails outside a real completion, has
				// its stderr silenced by the scripts.
				t.Fatalf("bash: %v\n%s%s", err, out, stderr.String())
			}
			if !strings.Contains(string(out), "complete -F _"+tt.program+" "+tt.program+"\n") {
				t.Errorf("complete -p %s does not show the function registered:\n%s", tt.program, out)
			}
			if !strings.Contains(string(out), "reply:"+tt.want+"\n") {
				t.Errorf("completing %q offered no %q:\n%s", tt.words, tt.want, out)
			}
		})
	}
}

// TestFishCompletion checks each fish script's syntax and completes the
// same command lines with fish's own "complete -C".
func TestFishCompletion(t *testing.T) {
	fish, err := exec.LookPath("fish")
	if err != nil {
		t.Skip("needs fish to check the fish completions: apt-get install fish")
	}
	for _, program := range []string{"knockbeepd", "knock", "beep"} {
		file := repoPath(t, completionFiles(program)["fish"])
		if out, err := exec.Command(fish, "--no-config", "-n", file).CombinedOutput(); err != nil {
			t.Errorf("fish -n %s: %v\n%s", file, err, out)
		}
	}
	for _, tt := range completionCases {
		t.Run(strings.Join(tt.words, " "), func(t *testing.T) {
			file := repoPath(t, completionFiles(tt.program)["fish"])
			line := strings.Join(tt.words, " ")
			out, err := exec.Command(fish, "--no-config", "-c", "source $argv[1]; complete -C $argv[2]", file, line).CombinedOutput()
			if err != nil {
				t.Fatalf("fish: %v\n%s", err, out)
			}
			found := false
			for _, l := range strings.Split(string(out), "\n") {
				word, _, _ := strings.Cut(l, "\t")
				found = found || word == tt.want
			}
			if !found {
				t.Errorf("complete -C %q offered no %q:\n%s", line, tt.want, out)
			}
		})
	}
}

// TestZshCompletionSyntax parses each zsh script with zsh -n: running
// _arguments needs an interactive completion system, which a test cannot
// drive without a terminal.
func TestZshCompletionSyntax(t *testing.T) {
	zsh, err := exec.LookPath("zsh")
	if err != nil {
		t.Skip("needs zsh to check the zsh completions: apt-get install zsh")
	}
	for _, program := range []string{"knockbeepd", "knock", "beep"} {
		file := repoPath(t, completionFiles(program)["zsh"])
		script, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(script), "#compdef "+program+"\n") {
			t.Errorf("%s does not start with #compdef %s: compinit would not load it", file, program)
		}
		if out, err := exec.Command(zsh, "-n", file).CombinedOutput(); err != nil {
			t.Errorf("zsh -n %s: %v\n%s", file, err, out)
		}
	}
}
