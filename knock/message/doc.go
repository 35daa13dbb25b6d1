// Package message is the port language's text messages: a UTF-8 text
// sent as knocks to a message door, each knock one nibble (4 bits) of the
// message at its position, so that order does not matter and repeats are
// harmless. Which port carries which (position, nibble) is a permutation
// of the door's range drawn every period from the door's key; a tag over
// the whole message (HMAC-SHA256 with the key, the door and the period)
// authenticates it, and optional parity knocks recover one lost knock per
// parity class, or one position that a spoofed knock put in doubt. docs/port-language.md ("Messages") writes the encoding
// down exactly, with a test vector, for other clients.
//
// Code encodes (the knock client) and decodes one period's knocks; the
// Assembler (the daemon) collects each source's knocks under the code of
// every period within the skew of its first knock and every key, and
// returns a Message once one of them verifies. An attempt that cannot
// verify before the door's timeout is dropped and reported with the
// reason (Expire); stray knocks into the range are only counted. The
// assembler keeps no state beyond MaxAttempts sources, reuses the memory
// of ended attempts, and never returns a text that did not verify.
package message
