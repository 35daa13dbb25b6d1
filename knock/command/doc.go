// Package command runs the commands of knockbeepd's command doors: the
// firewall changes that knockd calls start_command and stop_command.
//
// # Data flow
//
// The daemon's matcher goroutine calls Runner.Open when a door's knock
// sequence completes for a source. Open never waits for a command: it
// replaces the placeholders, puts the door's start command on the door's
// queue and returns. One worker goroutine per door (started when the queue
// gets work, gone when it is empty) runs the queue in order, so the start
// and stop commands of one door never overtake each other, while different
// doors run at the same time. When a start command has finished, a timer
// (from the injected Clock) waits the door's StopDelay and then queues the
// stop command on the same queue.
//
// # Commands
//
// A knock.Command is an argv run directly, without a shell, unless its
// Shell field is set; then its one string runs as /bin/sh -c STRING (what
// knockd does for every command, and what commands from a knockd.conf get).
// The placeholders %IP%, %PORT%, %PROTO% and %DOOR% are replaced in every
// argument separately: in argv mode a value is always exactly one argument,
// whatever it holds. In shell mode the values become shell text, as in
// knockd; that is safe for %IP%, %PORT% and %PROTO% because an address is
// only hex digits, dots and colons (its IPv6 zone, an interface name, is
// removed), a port only digits and a protocol "tcp" or "udp". %DOOR% is the
// door's name from the administrator's own config. The same values are in
// the environment as KNOCK_IP, KNOCK_PORT, KNOCK_PROTO and KNOCK_DOOR, for
// shell commands that prefer to quote "$KNOCK_IP".
//
// A message door's commands (OpenMessage) also get %MESSAGE%, the text it
// delivered, and KNOCK_MESSAGE. The text is anyone's with the key, so the
// config accepts %MESSAGE% only as an argv command's whole argument; as a
// second guard, in a shell command it is replaced by "$KNOCK_MESSAGE",
// never by the text.
//
// IPv6 sources run Start6 and Stop6 when the door has them and fall back to
// Start and Stop otherwise, as knockd does.
//
// Decisions where knockd has none or differs:
//
//   - Environment: clean. Commands get PATH (the daemon's) and the KNOCK_
//     variables only, not whatever the daemon inherited.
//   - Timeout: a command still running after its door's CommandTimeout
//     (the daemon's config gives every door a minute unless it says
//     otherwise) is killed with its whole process group and logged;
//     knockd waits forever, and a hung command would stall the door's
//     queue and shutdown. A CommandTimeout of 0 restores knockd's
//     behaviour. This timer is on the wall clock: it bounds a process,
//     which runs in real time.
//   - Output: stdout and stderr go to the log line by line, tagged with the
//     door, the source and the stream, followed by the exit status.
//   - Open state: a door with a stop command is open for a source from Open
//     until its stop command is queued. Open for a door already open for
//     that source runs nothing (the firewall gets no duplicate rule) unless
//     the door has Reopen; then every Open runs the start command and queues
//     its own stop command, as knockd does. A door without a stop command
//     has no open state: every Open runs its start command, like knockd's
//     one-port doors.
//   - Bounds: a door refuses a start command (logged and counted in Stats)
//     while 4096 of its commands are pending. A stop command is never
//     refused: each belongs to a start that was accepted.
//
// # Shutdown
//
// On SIGTERM the daemon calls Shutdown. No stop command is lost: every
// pending one is queued at once instead of at the end of its StopDelay
// (behind its door's queued commands), and Shutdown returns when all have
// run. Only if Shutdown's context ends first are running commands killed
// and the rest logged, each with its command line, as not run.
package command
