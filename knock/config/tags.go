package config

import (
	"reflect"
	"strings"
)

// tagsOf returns the toml tag names of a struct's fields, in order.
func tagsOf(v any) []string {
	t := reflect.TypeOf(v)
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ",")
		names = append(names, name)
	}
	return names
}
