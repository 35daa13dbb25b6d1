package beepcli

import "github.com/knockbeep/knockbeep/internal/buildinfo"

// Usage is beep's help text: beep 1.4's options, then this beep's own.
const Usage = `Usage:
  beep [GLOBALS] [-f FREQ] [-l LEN] [-r REPEATS] [<-d|-D> DELAY] [-s] [-c]
  beep [GLOBALS] <TONE_OPTIONS> [-n|--new] <TONE_OPTIONS> ...
  beep [GLOBALS] --song SONG
  beep -h|--help
  beep -v|-V|--version

Beep the PC speaker, as beep 1.4 does, or play song files, or render them
to WAV files instead.

Global options:
  -e DEVICE, --device=DEVICE
                     the speaker device (a character device): a Linux input
                     event node (/dev/input/by-path/platform-pcspkr-event-spkr)
                     or console (/dev/tty0), FreeBSD /dev/speaker or a
                     syscons console. Default: the first that works.
  --verbose, --debug more messages; also BEEP_LOG_LEVEL=N (0 is the default)

Tone options (each -n starts a new tone from the defaults):
  -f FREQ            frequency in Hz, 0 to 20000 (default 440; 0 means 440)
  -l LEN             tone length in ms, 0 to 300000 (default 200)
  -r REPEATS         repetitions, 0 to 300000 (default 1)
  -d DELAY           delay between repetitions in ms, not after the last
                     (default 100)
  -D DELAY           delay between repetitions and after the last, in ms
  -s                 copy stdin to stdout, beeping once per line
  -c                 copy stdin to stdout, beeping once per character

Beyond beep 1.4:
  --song SONG        play a song file: beep command lines, RTTTL, or
                     MML/BASIC PLAY/speaker(4) strings (by extension or
                     content); no tone options with it. When no file has
                     that name, SONG names a song built into beep:
                     fur-elise, imperial-march, minuet-in-g, ode-to-joy,
                     three-voice-round, twinkle-twinkle (a song of
                     several voices plays its first)
  --wav PATH         render to a WAV file (PATH ending in .wav) or into a
                     directory instead of sounding the speaker
  --wav-rate HZ      the WAV file's sample rate (default 32000)
  --print            print the tones as beep arguments and play nothing

Examples:
  beep                                     one 440 Hz beep of 200 ms
  beep -f 1000 -r 3 -d 50                  three short high beeps
  beep -f 392 -l 350 -D 100 -n -f 311 -l 250
  tail -f /var/log/auth.log | beep -s -f 2000 -l 20
  beep --song imperial-march               the built-in Imperial March
  beep --song songs/fur-elise.rtttl --wav fur-elise.wav
  beep --print --song songs/ode-to-joy.mml > ode.args; beep $(cat ode.args)
`

// VersionText is what -v prints. Its first words stay beep 1.4's ("beep
// 1.4"), which scripts and beepcompat's parity test read; the knockbeep
// version follows in parentheses.
func VersionText() string {
	return "beep 1.4 (knockbeep " + buildinfo.Version() + ")\n" + versionNote
}

const versionNote = `A beep 1.4-compatible player on knockbeep's speaker code, with song files
and WAV output. beep 1.4 is by Johnathan Nightingale, Gerfried Fuchs and
Hans Ulrich Niedermann; this is a reimplementation.
`
