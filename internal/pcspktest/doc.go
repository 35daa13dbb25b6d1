// Package pcspktest proves that knockbeep's notes come out of a PC speaker,
// on machines that have none: it boots the project's own static binaries in
// a qemu PC, whose emulated timer chip and speaker qemu records, and checks
// what was recorded against the song that was meant.
//
// KIOCSOUND succeeds silently on a machine without a speaker, so no test on
// the host can tell a sounding speaker from a silent one. qemu can: it
// emulates the PC's timer chip and speaker (-machine pc,pcspk-audiodev=),
// records the speaker to a WAV file at its native 32 kHz, and traces the
// guest's writes to the timer and speaker ports.
//
// # How a run flows
//
//	Prepare                 qemu (apt-get install) and a Debian kernel with
//	                        pcspkr.ko and evdev.ko (apt-get download, dpkg -x),
//	                        cached in CacheDir between runs
//	BuildInitramfs          a Builder's static linux/amd64 builds of guestinit
//	                        (/init) and of the programs under test, plus the
//	                        Scenario and songs, into a newc cpio
//	                        (CPIOWriter)
//	BootGuest               qemu with TCG and instruction counting, no
//	                        network, the speaker recorded to a WAV at 32 kHz
//	                        and port writes traced; the guest kernel traces
//	                        its speaker driver (SpeakerProbe); the guest
//	                        powers itself off
//	ReadCapture, Listen     ParseTrace → Sounds (a model of timer channel 2
//	                        and port 0x61) says which counts the chip was
//	                        given, in order; ParseKernelTrace → SpeakerSounds
//	                        says when, on the guest's clock; the two must
//	                        agree one for one; ReadWAV → LocateSounds →
//	                        MeasureFrequency gives each sound's frequency as
//	                        recorded, and its length in the WAV must agree
//	                        with the guest's clock
//	Listening.Check         Compare with the plan: every note in order, each
//	                        frequency within 0.3 % of ChipFreq (trace and WAV),
//	                        each length and silence within ±5 ms, the speaker
//	                        off at the end
//
// The guest's /init (package guestinit) runs the Scenario's Prelude, then
// plays a marker tone through KIOCSOUND, runs the Steps, and plays the
// marker again. The markers frame the sounds under test. The Prelude lets
// the program under test run once first, so that a test does not time its
// very first run.
//
// # Time the host cannot move
//
// Without instruction counting, the guest's time under TCG is the host's:
// while the host runs something else in qemu's place, the guest's time
// passes all the same and its sleeps come out late by however long that
// was. On a busy two-core host notes came out up to 8.8 ms off, and the
// kernel once panicked at boot because its timer check ran out of time.
//
// BootGuest runs qemu with -icount shift=0,sleep=off. qemu's virtual
// clock, which the guest's clocks and timers, the emulated timer chip and
// the audio recording all run on, then advances by 1 ns per guest
// instruction and by nothing else (when the guest idles, straight to its
// next timer). Each time the tests compare is a difference of two moments
// on that clock:
//
//   - A sound's start and end are the guest kernel's timestamps
//     (CLOCK_MONOTONIC) of the pcspkr driver's calls, from a kprobe /init
//     places on pcspkr_event (SpeakerProbe): every sound of KIOCSOUND,
//     KDMKTONE and the input event node goes through it. qemu's port trace
//     must hold the same sounds at the same counts in the same order
//     (Capture.Listen refuses the boot otherwise): it proves that the
//     calls reached the chip, and the chip's counts give the trace's
//     frequencies. Its host timestamps are not used.
//   - The WAV, recorded on the virtual clock, must agree: each sound but
//     the first and last lasts as long in it as by the guest's clock,
//     within 2 ms (qemu makes audio in 1 ms steps) and one period of the
//     tone (LocateSounds places its ends at zero crossings). Observed:
//     within 0.5-3.0 ms, the widest a 392 Hz note (limit 4.55 ms).
//   - A SIGTERM test's latency runs from the guest kernel's
//     signal_generate (the kill) to the driver call that silenced the
//     note, which must be the thread that called KIOCSOUND 0 after the
//     signal. Observed: 50-60 µs.
//
// shift=0 makes the guest a 1 GHz CPU that runs one instruction a cycle,
// slower than any PC this would run on, so the program's own costs are
// not understated. Code qemu translates the first time it runs costs the
// guest nothing. Host load only stretches a boot's wall time: the guest
// kernel runs some 1.7-1.8 G instructions before it starts /init (1.8 s
// on its clock), 11-20 s of wall time on a busy two-core host, while the
// guest's sleeps cost none: the Imperial March's 26 s take some 5 s.
//
// # Limits, and what changed with instruction counting
//
//   - Note lengths and silences ±5 ms (DefaultLimits.Timing), frequencies
//     0.3 % (DefaultLimits.Freq), SIGTERM to silence 10 ms: unchanged.
//     On the guest's clock the worst timing error was 0.85-0.97 ms (the
//     player's own sleeps; see the figures the tests print), busy host or
//     not, where the host's clock had shown up to 8.8 ms. The guest's
//     run still varies by about 0.1 ms from boot to boot.
//   - Gone: mapping the guest's clock onto the trace's through the marker
//     tones (HostTime, ClockDrift) and its 500 µs check — both ends of
//     every measured time are now on one clock — and the SIGTERM tests'
//     second boot when the first was late: one boot decides.
//   - New, and exact: the port trace and the guest kernel's trace must
//     tell the same sounds; the thread that silenced a SIGTERM note must
//     be the one that made the silencing call. New, within 2 ms and a
//     period: the WAV's lengths against the guest's clock.
//
// # What the emulator adds, and how the harness keeps it out
//
//   - The WAV's first sound comes out ~30 ms long and its last as much
//     short, and it holds no silences: LocateSounds places sounds by
//     pitch, not position, and MeasureFrequency skips the half period
//     qemu cuts where it restarts the wave between two sounds.
//   - The console is a serial port: a line costs the guest a write and a
//     few interrupts. /init stamps the events that time a sound just
//     before their system call and prints them after it; a signal's line
//     waits until the process has exited.
//   - The console speaker re-arms KDMKTONE every second: reloading the count
//     a sound already has is not a new sound, in the port trace and in the
//     driver's calls alike.
//   - The console's KIOCSOUND 0 reaches the driver twice, as a tone and a
//     bell of 0; the second finds the speaker off and changes nothing.
//
// # Running qemu ahead of the host's other work
//
// Prepare runs qemu under SCHED_RR at the lowest real-time priority (chrt
// --rr 1), where that is allowed, else at nice -19: not for its timing,
// which the host cannot move, but to keep a boot's wall time down on a
// busy host. A real-time qemu that hangs must not take the machine with
// it. It has one virtual CPU (-smp 1), so it keeps at most one core busy;
// Linux keeps 5 % of each CPU's time for ordinary processes
// (sched_rt_runtime_us); BootGuest kills it with SIGKILL when its time
// limit passes (90 s a boot in the tests; TestBootGuestKillsAHungEmulator),
// and the kernel kills it when the test process dies first (the
// parent-death signal).
//
// # Tests
//
// The tests named TestQemu... are tier 3 of the project's tests: five
// boots, 96-151 s in all on a shared two-core host, with two busy loops
// running or not. They skip with the reason when
// qemu or the kernel cannot be had (not root and qemu missing, apt-get
// refusing) and under go test -short. Set KNOCKBEEP_QEMU_CACHE to move the
// cache and KNOCKBEEP_QEMU_ARTIFACTS to keep each boot's console, trace
// and WAV. The other tests run the host side on a recorded boot in
// testdata.
//
// The fault-injection tests (faults_test.go) prove that the checks bite:
// a capture that matched its plan gets a note 20 ms late, a wrong pitch
// (in the traces and the WAV, and in each alone), a dropped note, a last
// note left on, or the speaker left on at the end, in the guest kernel's
// trace, the port trace and the WAV alike, and the same Listen and Check
// must fail it. They run on the recorded boot in every run of the unit
// tests, and on the live boot of TestQemuBeepCLI.
package pcspktest
