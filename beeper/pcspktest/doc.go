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
//	                        gives the guest's own account
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
// # What the emulator adds, and how the harness keeps it out
//
//   - The WAV lags the trace by ~30 ms, holds no silences, and on a busy
//     host loses bits of sounds: LocateSounds places sounds by pitch, not
//     position, and MeasureFrequency skips the half period qemu cuts where
//     it restarts the wave between two sounds.
//   - The guest keeps time only as well as qemu gets the CPU: Prepare runs
//     qemu under SCHED_RR (chrt) where allowed, else nice -19.
//   - The console speaker re-arms KDMKTONE every second: reloading the count
//     a sound already has is not a new sound.
//
// # Tests
//
// The tests named TestQemu... are tier 3 of the project's tests: ~10 s per
// boot, ~2 minutes in all. They skip with the reason when qemu or the
// kernel cannot be had (not root and qemu missing, apt-get refusing) and
// under go test -short. Set KNOCKBEEP_QEMU_CACHE to move the cache and
// KNOCKBEEP_QEMU_ARTIFACTS to keep each boot's console, trace and WAV.
// The other tests run the host side on recorded boots in testdata.
package pcspktest
