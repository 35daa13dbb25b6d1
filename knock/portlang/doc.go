// Package portlang is the port language: how a shared secret becomes the
// ports of knocks that change every period. A rotating door's sequence,
// and later the music ports and messages, are drawn from one keyed stream
// (HMAC-SHA256 over a version tag, a purpose, a name, a period number and
// optionally the knocker's address), so that one secret, one derivation
// and one replay cache serve them all. docs/port-language.md writes the
// derivation down exactly, with test vectors, for other implementations;
// the tests check this package against that document.
//
// The package also reads and writes key files (ReadKeyFile, ParseKey,
// WriteKeyFile): a hex key, refused when the file is open to group or
// others, as ssh refuses its private keys.
package portlang
