// Package testtools gives privileged and comparison tests the programs
// they run: Debian's own tools (beep, strace, knockd), installed with
// apt-get when missing, and this module's commands, built once per test
// binary.
//
// A test calls NeedCommand for each outside tool, which returns its path
// or skips the test saying why (not root, no apt-get, apt-get refused),
// and BuildBinary for each of our commands, which returns the path of a
// fresh build. A package that builds binaries runs its tests through Main
// from its TestMain, so that the builds are removed when the tests end.
package testtools
