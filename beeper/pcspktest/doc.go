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
//	                        cached in CacheDir between runs
//	BuildInitramfs          go build (static, linux/amd64) of guestinit as
//	                        /init and of the programs under test, plus the
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
//	                        frequency within 0.3 % of ChipFreq, each length and
//	                        silence within ±5 ms, the speaker off at the end
//
// The guest's /init (package guestinit) plays a marker tone through
// KIOCSOUND before and after the scenario. The markers frame the sounds under
// test, absorb qemu's recording shift (the WAV lags the trace by ~30 ms), and
// tie the guest's clock to the trace's, so that a guest event such as "sent
// SIGTERM" can be placed on the trace (Listening.HostTime).
//
// The tests in this package (TestQemu...) are tier 3 of the project's tests.
// They skip with the reason when qemu or the kernel cannot be had (not root
// and qemu missing, apt-get refusing) and under go test -short.
package pcspktest
