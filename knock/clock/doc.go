// Package clock is the time source of the knockbeepd parts that run
// something later: command doors (cmd_timeout), the music doors (the
// once-a-second fsync, archive names, spacing out refusal log lines) and
// capture (retrying an interface that went away). Each takes a Clock
// instead of calling the time package, so that its tests move time on
// with clocktest.Fake instead of sleeping; in production they get
// System().
//
// The Sender of knock/send and the beeper's Player wait on their clocks
// instead (Sleep, SleepUntil) to pace real-time output, so they have
// clocks of their own shape.
package clock
