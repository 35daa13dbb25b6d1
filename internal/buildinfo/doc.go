// Package buildinfo tells the programs' --version what they were built
// from.
//
// A release build stamps the version with the linker, as scripts/package
// does from "git describe":
//
//	go build -ldflags "-X github.com/knockbeep/knockbeep/internal/buildinfo.stamped=v0.2.0" ./cmd/...
//
// Without a stamp the version comes from the Go toolchain's build
// information: the module version when the programs were built with
// "go install ...@v0.2.0", otherwise "devel" and, when the build recorded
// it, the commit and whether the tree had uncommitted changes.
package buildinfo
