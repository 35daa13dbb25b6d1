// Package packagetest checks what knockbeep ships besides its programs:
// the man pages, the shell completions, the Debian package built by
// scripts/package, the FreeBSD port skeleton and the nftables example in
// configs/. It holds only tests.
//
// The man pages and completions are tested against the flags the programs
// really accept, read from their option tables in the source, and
// knockbeepd.toml(5) against the keys package config reads, so that a flag
// or key added to a program and left out of its man page or completions
// fails here, naming it.
//
// Tests that need a tool (man, lintian, dpkg, nft, zsh, fish, bmake) or
// root skip with the reason when it is missing; scripts/test installs the
// tools.
package packagetest
