// Package pcspktest proves that knockbeep's notes come out of a PC speaker,
// on machines that have none: it boots the project's own static binaries in
// a qemu PC, whose emulated timer chip and speaker qemu records, and checks
// what was recorded against the song that was meant.
//
// KIOCSOUND succeeds silently on a machine without a speaker, so no test on
// the host can tell a sounding speaker from a silent one. qemu can: see
// shared/reference/qemu-pcspk.md in the project notes for the facts this
// package rests on.
//
// # How a run flows
//
//	Prepare                 qemu (apt-get install) and a Debian kernel with
//	                        pcspkr.ko and evdev.ko (apt-get download, dpkg -x),
//	                        cached in CacheDir between runs; picks how to run
//	                        qemu ahead of the host's other work
//	BuildInitramfs          a Builder's static linux/amd64 builds of guestinit
//	                        (/init) and of the programs under test, plus the
//	                        Scenario and songs, into a gzipped newc cpio
//	                        (CPIOWriter)
//	BootGuest               qemu with TCG, no network, the speaker recorded to a
//	                        WAV at 32 kHz and port writes traced with host
//	                        timestamps; the guest powers itself off
//	Listen                  ParseTrace → Sounds (a model of timer channel 2 and
//	                        port 0x61) gives each sound's start, length and
//	                        count; ReadWAV → LocateSounds → MeasureFrequency
//	                        gives its frequency as recorded; ParseGuestEvents
//	                        and ParseKernelTrace give the guest's own account
//	Listening.Check         Compare with the plan: every note in order, each
//	                        frequency within 0.3 % of ChipFreq (trace and WAV),
//	                        each length and silence within ±5 ms, the speaker
//	                        off at the end
//
// The guest's /init (package guestinit) runs the Scenario's Prelude, then
// plays a marker tone through KIOCSOUND, runs the Steps, and plays the
// marker again. The markers frame the sounds under test, and tie the
// guest's clock to the trace's, so that a guest event such as "sent
// SIGTERM" can be placed on the trace (Listening.HostTime). The Prelude lets
// the program under test run once first: qemu translates guest code the
// first time it runs, which would otherwise make the first note end late.
//
// A scenario may have the guest kernel trace a few events
// (Scenario.KernelEvents, ftrace in CLOCK_MONOTONIC): SignalTraceEvents
// record the kill, the signal's delivery and each speaker ioctl, so a
// SIGTERM test can say where the time went (Listening.SignalReaction)
// and check its own clock mapping against the trace.
//
// # What the emulator adds, and how the harness keeps it out
//
//   - The WAV lags the trace by ~30 ms, holds no silences, and on a busy
//     host loses bits of sounds: LocateSounds places sounds by pitch, not
//     position, and MeasureFrequency skips the half period qemu cuts where
//     it restarts the wave between two sounds.
//   - Code runs slowly the first time: TCG translates it. A program's way
//     from SIGTERM to a silent speaker (Go's signal handler, os/signal,
//     the context, the Player's unwinding, and /init's kill) took 1.3-7.0
//     ms from the kill to a silent speaker when it ran for the first time
//     under the clock (up to 9.9 ms as the harness measured it before),
//     0.5-4.2 ms once translated, ~1 ms typically. The SIGTERM tests'
//     Prelude therefore stops the same program with SIGTERM once, untimed
//     (DaemonSignalWarmup for the daemon).
//   - The console is a serial port: a line costs the guest a write and a
//     few interrupts, ~0.7 ms. /init stamps the events that time a sound
//     just before their system call and prints them after it; a signal's
//     line waits until the process has exited, so that it does not compete
//     with the process's reaction on the guest's one CPU.
//   - The guest's clock is the host's as qemu shows it, but a mapping
//     through one marker was off by up to ~1 ms: /init's first ioctl runs
//     untranslated code, and the guest's TSC is calibrated under
//     emulation. HostTime maps through both markers, and with the kernel
//     trace from the ioctl that silenced each to the trace's write that
//     did: the SIGTERM tests check that a program's silencing ioctl,
//     mapped so, does not land after its write (it lands within ~50 µs of
//     it, unless qemu stalled in between).
//   - The console speaker re-arms KDMKTONE every second: reloading the count
//     a sound already has is not a new sound.
//
// # Running qemu ahead of the host's other work
//
// Under TCG the guest's time is the host's: while the host runs something
// else in qemu's place, the guest's time passes all the same and its
// sleeps come out late by however long that was. An ordinary process on a
// busy host waits milliseconds for a CPU, more than the ±5 ms a note may
// be off. So Prepare runs qemu under SCHED_RR at the lowest real-time
// priority (chrt --rr 1), where it takes a CPU from any ordinary process
// the moment it has work; where that is not allowed, at nice -19. With
// two busy loops on a two-core host, TestQemuBeepCLI's worst timing error
// was 0.9-2.3 ms in three runs under chrt and 8, 72 and 150 ms (three
// failures) without it; the SIGTERM latency 1.1-1.4 ms and 0.7-5.9 ms.
//
// A real-time qemu that hangs must not take the machine with it. It has
// one virtual CPU (-smp 1), so it keeps at most one core busy; Linux keeps
// 5 % of each CPU's time for ordinary processes (sched_rt_runtime_us);
// BootGuest kills it with SIGKILL when its time limit passes (90 s a boot
// in the tests; TestBootGuestKillsAHungEmulator), and the kernel kills it
// when the test process dies first (the parent-death signal).
//
// # Tests
//
// The tests named TestQemu... are tier 3 of the project's tests: ~10 s per
// boot, ~2 minutes in all. They skip with the reason when qemu or the
// kernel cannot be had (not root and qemu missing, apt-get refusing) and
// under go test -short. Set KNOCKBEEP_QEMU_CACHE to move the cache and
// KNOCKBEEP_QEMU_ARTIFACTS to keep each boot's console, trace and WAV.
// The other tests run the host side on recorded boots in testdata.
//
// The SIGTERM tests print where the time went by the guest's own clock.
// One that misses its 10 ms on time alone boots once more and says so in
// the log; it fails if the second boot misses too.
package pcspktest
