package daemon

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/clock"
	"github.com/knockbeep/knockbeep/knock/send"
	"github.com/knockbeep/knockbeep/knock/send/sendtest"
	"github.com/knockbeep/knockbeep/sequence"
	"github.com/knockbeep/knockbeep/songs"
)

// secretMusicConfig: the music doors under a secret, on 20000-29999 with
// 4 s periods; "mark" as in rotatingE2EConfig.
const secretMusicConfig = `
speaker = "wav:{{DIR}}/wav"
state_dir = "{{DIR}}/state"
[music]
secret_file = "{{DIR}}/door.key"
period = "4s"
port_range = "20000-29999"

[[door]]
name = "mark"
sequence = "7000,7001"
start_command = ["/bin/true"]
`

// knockSecretSong runs knock --song SONG --secret-file from ns and
// returns the knocks it sent.
func (l *rotatingLab) knockSecretSong(t *testing.T, ns *sendtest.Netns, song string, extra ...string) []send.Target {
	t.Helper()
	args := append([]string{"-v", "--song", song, "--secret-file", filepath.Join(l.dir, "door.key"), "--period", "4s",
		"--port-range", "20000-29999"}, extra...)
	sent, stdout := l.runKnock(t, ns, clock.System(), args)
	for _, st := range sent {
		if st.Port < 20000 || st.Port > 29999 {
			t.Fatalf("knock sent port %d, outside [music] port_range:\n%s", st.Port, stdout)
		}
	}
	return sent
}

// The music doors under a secret, on the wire: the Imperial March
// knocked with the key, across a period boundary, plays exactly as
// composed; the same song knocked on the static music ports adds nothing;
// the recorded knocks replayed, from the knocker and from another
// address, play nothing and are logged as replays.
func TestSecretSongEndToEnd(t *testing.T) {
	l := newRotatingLab(t)
	d := startDaemonIn(t, l.host, l.dir, secretMusicConfig)
	state := filepath.Join(l.dir, "state")
	plan := composeSong(t, songs.ImperialMarch, sequence.ComposeOptions{Notes: true})

	// About 300 knocks 5 ms apart, started 3.2 s into a 4 s period: the
	// knocking crosses into the next period.
	intoPeriod(0, 3200*time.Millisecond, 3400*time.Millisecond)
	sent := l.knockSecretSong(t, l.a, songs.ImperialMarch, "--notes")
	checkSong(t, waitSongs(t, state, 1)[0], plan)
	t.Logf("the Imperial March with --notes under the secret: %d knocks", len(sent))

	knockSong(t, l.a, l.addr, plan) // the static ports
	knockPorts(t, l.a, l.addr, sent...)
	knockPorts(t, l.b, l.addr, sent...)
	l.marked(t, d, l.a)
	l.marked(t, d, l.b)
	time.Sleep(500 * time.Millisecond) // a song queued last would be archived by now
	if got := playedSongs(t, state); len(got) != 1 {
		t.Errorf("%d songs played, want only the one knocked with the key", len(got))
	}
	if n := d.count("daemon: song not played", "[music]"); n < 1 {
		t.Errorf("%d replays refused and logged, want at least 1:\n%s", n, d.log())
	}
	d.stop()
}
