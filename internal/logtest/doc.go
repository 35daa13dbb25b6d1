// Package logtest captures a component's slog output in tests.
//
// A test gives the *slog.Logger from New (JSON records) or NewText
// (logfmt-like lines, as the daemon writes them) to the component under
// test, lets it run, and asserts on the Buffer: its text, its lines, or
// its records decoded from JSON. The Buffer takes writes from any number
// of goroutines, and the whole log is shown when the test fails, so that
// a failure comes with the story that led to it.
package logtest
