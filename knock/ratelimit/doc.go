// Package ratelimit bounds how fast each source may knock, in front of the
// matcher and the music doors, in memory that does not grow with the
// number of sources.
//
// A Limiter is a table of token buckets indexed by a keyed hash of the
// source address: a million spoofed sources cost no more memory than one,
// and an attacker cannot aim its sources at a victim's bucket without the
// hash key. Two sources that share a bucket share its rate, which can
// only make the limit stricter for them, never looser. Allow takes the
// knock's own time, so the same code runs live and in a replay, and
// allocates nothing.
package ratelimit
