// Package clocktest has Fake, a clock.Clock for tests: its time stands
// still until the test calls Advance, which fires the timers that came
// due, or the code under test calls SleepUntil, which returns at once with
// the time moved to the deadline. A test hands the Fake to the code under
// test in place of clock.System(), waits for the timers it expects
// (WaitPending), then advances the time past them instead of sleeping:
//
//	clk := clocktest.NewFake(time.Date(2024, 5, 4, 12, 0, 0, 0, time.UTC))
//	r := command.NewRunner(command.Options{Clock: clk})
//	... // a door opens; its stop command waits the door's StopDelay
//	clk.WaitPending(1, 10*time.Second)
//	clk.Advance(door.StopDelay) // the stop command runs now
//
// Code that paces real-time output (a beeper.Player playing a song, a
// knock/send Sender pacing knocks) sleeps on the Fake instead: the song
// plays in no time, each speaker call lands at a known instant, and
// Lateness makes every wake-up late as a busy machine would.
package clocktest
