// Package clocktest has Fake, a clock.Clock for tests: its time stands
// still until the test calls Advance, which fires the timers that came
// due. A test hands the Fake to the code under test in place of
// clock.System(), waits for the timers it expects (WaitPending), then
// advances the time past them instead of sleeping:
//
//	clk := clocktest.NewFake(time.Date(2024, 5, 4, 12, 0, 0, 0, time.UTC))
//	r := command.NewRunner(command.Options{Clock: clk})
//	... // a door opens; its stop command waits cmd_timeout
//	clk.WaitPending(1, 10*time.Second)
//	clk.Advance(cmdTimeout) // the stop command runs now
package clocktest
