// Package clock is the one time source of the code that waits or runs
// something later: the beeper's Player and speaker(4) back end (a tone's
// deadline), knock/send's Sender (the pause between knocks), command doors
// (the wait before the stop command, the kill timeout), the music doors
// (the once-a-second fsync, archive names, spacing out refusal log lines),
// capture (retrying an interface that went away) and the daemon's expiry
// tick. Each takes a Clock instead of calling the time package, so that its
// tests move time on with clocktest.Fake instead of sleeping; in production
// they get System().
//
// The package imports nothing of knockbeep's, so that beeper/ and knock/
// can both take a Clock without importing each other.
package clock
