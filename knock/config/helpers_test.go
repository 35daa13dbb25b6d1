package config

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// configDiff returns "" when want and got are equal, Source aside, or
// their difference as a -want +got diff of their TOML.
func configDiff(t *testing.T, want, got *Config) string {
	t.Helper()
	w, g := *want, *got
	w.Source, g.Source = 0, 0
	if reflect.DeepEqual(&w, &g) {
		return ""
	}
	if d := lineDiff(tomlText(t, want), tomlText(t, got)); d != "" {
		return d
	}
	// Same TOML, different Go values (nil against empty, say).
	return fmt.Sprintf("-%#v\n+%#v", w, g)
}

func tomlText(t *testing.T, c *Config) string {
	t.Helper()
	var b bytes.Buffer
	if err := c.WriteTOML(&b); err != nil {
		t.Fatalf("WriteTOML: %v", err)
	}
	return b.String()
}

// lineDiff is a line-based diff of want and got, "" when they are equal:
// lines only in want start with "-", only in got with "+".
func lineDiff(want, got string) string {
	if want == got {
		return ""
	}
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	// Longest common subsequence, then walk it.
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			out.WriteString("  " + a[i] + "\n")
			i++
			j++
		case j < len(b) && (i == len(a) || lcs[i][j+1] >= lcs[i+1][j]):
			out.WriteString("+ " + b[j] + "\n")
			j++
		default:
			out.WriteString("- " + a[i] + "\n")
			i++
		}
	}
	return out.String()
}

// errText is err's message, or "<nil>".
func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// lines joins lines with newlines: several problems in one error.
func lines(l ...string) string { return strings.Join(l, "\n") }

// checkRoundTrip asserts what every accepted config must satisfy: it
// validates, and its TOML parses back to it.
func checkRoundTrip(t *testing.T, c *Config) {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatalf("accepted config does not validate: %v", err)
	}
	text := tomlText(t, c)
	back, err := Parse("roundtrip.toml", []byte(text))
	if err != nil {
		t.Fatalf("WriteTOML output does not parse: %v\n%s", err, text)
	}
	if back.Source != FormatTOML {
		t.Fatalf("WriteTOML output detected as %v, want toml", back.Source)
	}
	if d := configDiff(t, c, back); d != "" {
		t.Fatalf("WriteTOML then Parse changed the config (-want +got):\n%s", d)
	}
}
