package config

import (
	"bytes"
	"io"
)

// utf8BOM starts files saved by some editors; neither parser wants it.
var utf8BOM = []byte("\xef\xbb\xbf")

// Parse reads a config in either syntax, told apart by its content (see
// Detect), applies the defaults and validates it. name is used in error
// messages only.
func Parse(name string, data []byte) (*Config, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	switch Detect(data) {
	case FormatKnockd:
		c, _, err := parseKnockd(name, data)
		return c, err
	default:
		return parseTOML(name, data)
	}
}

// ConvertKnockd writes the TOML equivalent of the knockd.conf in data to w,
// keeping its comments above the TOML keys and tables they were above.
func ConvertKnockd(name string, data []byte, w io.Writer) error {
	data = bytes.TrimPrefix(data, utf8BOM)
	if f := Detect(data); f != FormatKnockd {
		return &Error{File: name, Msg: "this is not a knockd.conf (it reads as " + f.String() + "): only knockd.conf files are converted"}
	}
	c, comments, err := parseKnockd(name, data)
	if err != nil {
		return err
	}
	from := "knockd.conf"
	if name != "" {
		from = name
	}
	comments.top = append([]string{
		"# knockbeepd configuration converted from " + from + ".",
		"# Every setting is written out; configs/knockbeepd.toml documents each.",
		"",
	}, comments.top...)
	return c.writeTOML(w, comments)
}
