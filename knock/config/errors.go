package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// An Error is one problem in a config: where it is and what is wrong.
// Parse returns one Error, or several joined with errors.Join (one per
// line of the message), sorted by line.
type Error struct {
	File string // the name given to Parse; "" when not known
	Line int    // 1-based; 0 when the problem has no single line
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// problems collects the errors found in one config, so a user sees all of
// them at once rather than one per run.
type problems struct {
	file string
	list []*Error
}

func (p *problems) add(line int, format string, args ...any) {
	p.list = append(p.list, &Error{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// err returns the problems sorted by line (stable, so problems of one line
// keep the order they were found in), or nil.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	sort.SliceStable(p.list, func(i, j int) bool { return p.list[i].Line < p.list[j].Line })
	errs := make([]error, len(p.list))
	for i, e := range p.list {
		errs[i] = e
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// suggest returns ` (did you mean "x"?)` for the candidate closest to word,
// or "" when none is close enough to be a likely typo.
func suggest(word string, candidates []string) string {
	hint, _ := suggestion(word, candidates)
	return hint
}

// suggestion is suggest that also returns the candidate it suggests.
// Candidates compare case-insensitively. Of equally close ones, the one
// holding more of the word's letters wins ("stop_command6" means
// stop_command_6), then the one sharing a longer prefix ("sin" means syn:
// typos are rarer at the start).
func suggestion(word string, candidates []string) (hint, meant string) {
	lower := strings.ToLower(word)
	best := [3]int{-1, -1, -1} // distance, -letters held, -prefix: smaller wins
	for _, c := range candidates {
		lc := strings.ToLower(c)
		held := 0
		for _, r := range lower {
			if strings.ContainsRune(lc, r) {
				held++
			}
		}
		score := [3]int{editDistance(lower, lc), -held, -commonPrefix(lower, lc)}
		if best[0] < 0 || score[0] < best[0] ||
			(score[0] == best[0] && (score[1] < best[1] || (score[1] == best[1] && score[2] < best[2]))) {
			meant, best = c, score
		}
	}
	bestDist := best[0]
	// A third of the word's length (at least 1, at most 3) of edits still
	// reads as a typo; more is a different word.
	limit := min(max(len(word)/3, 1), 3)
	if meant == "" || bestDist > limit {
		return "", ""
	}
	return fmt.Sprintf(" (did you mean %q?)", meant), meant
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// editDistance is the Damerau–Levenshtein distance (optimal string
// alignment) between a and b, in bytes: swapped letters count as one edit.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
