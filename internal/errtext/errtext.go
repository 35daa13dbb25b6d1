// Package errtext formats errors for a command's standard error: an error
// of several lines (errors.Join, a config with several problems) gets the
// program's prefix on every line, so that each line still says who wrote
// it when the output is interleaved, grepped or logged line by line.
package errtext

import "strings"

// Lines is err's text with prefix before each of its lines, and no
// trailing newline.
func Lines(prefix string, err error) string {
	text := strings.TrimRight(err.Error(), "\n")
	return prefix + strings.ReplaceAll(text, "\n", "\n"+prefix)
}
