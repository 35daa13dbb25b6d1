package daemon

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/client"
	"github.com/knockbeep/knockbeep/knock/send"
	"github.com/knockbeep/knockbeep/sequence"
	"github.com/knockbeep/knockbeep/songs"
)

// The orchestra, on the wire: three daemons of an embedded NATS cluster
// in three namespaces, writing WAVs; knock --song three-voice-round
// --orchestra A B C from a fourth. Each daemon plays exactly its voice as
// composed, all three from the same cue, and the spread of the instants
// their players began is printed (never asserted: a busy 2-core machine
// decides it, not the code). The audit chain holds the cue and the plays.
func TestOrchestraEndToEnd(t *testing.T) {
	l := newFleetLab(t)
	for i := range l.conf {
		// The fleet lab's cluster, with the music doors on and a WAV
		// speaker instead of its doors.
		head := l.conf[i][:strings.Index(l.conf[i], "[[door]]")]
		head = strings.Replace(head, `speaker = "none"`, `speaker = "wav:{{DIR}}/wav"`, 1)
		l.conf[i] = strings.Replace(head, "[music]\nenabled = false\n", "[music]\nensemble_port = 1003\n", 1)
	}
	ds := l.startAll(t)

	// A stranger's ensemble knock, with no pool at A, conducts nothing.
	knockPorts(t, l.knocker, l.addrs[0], send.Target{Port: 1003, Proto: knock.TCP})
	ds[0].waitLog("daemon: fleet: ensemble knock refused: no pool of the knocker's here to conduct with (knock its voice in first)", 30*time.Second)

	data, file, err := songs.Read("three-voice-round")
	if err != nil {
		t.Fatal(err)
	}
	song, err := sequence.ParseSong(file, data)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--song", "three-voice-round", "--notes", "--orchestra"}
	for _, a := range l.addrs {
		args = append(args, a.String())
	}
	knockOrchestra(t, l, args)

	conducted := ds[0].waitLog("daemon: fleet: conducted", 30*time.Second)
	if conducted["acks"] != float64(3) {
		t.Errorf("the conductor logged %v acknowledgements, want 3: %v", conducted["acks"], conducted)
	}
	var cues []string
	var started []int64
	for i, d := range ds {
		voice, err := song.Voice(i)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := sequence.Compose(voice, sequence.DefaultProtocol(), sequence.ComposeOptions{Notes: true})
		if err != nil {
			t.Fatal(err)
		}
		checkSong(t, waitSongs(t, filepath.Join(d.dir, "state"), 1)[0], plan)

		cue := d.waitLog("daemon: fleet: cue: playing the knocker's pool from the cue's start", 30*time.Second)
		if cue["src"] != l.src.String() {
			t.Errorf("node %d played the pool of %v, want the knocker %v", i, cue["src"], l.src)
		}
		cues = append(cues, cue["cue"].(string)+" "+cue["cue_start_unix_ns"].(string))
		start := d.waitLog("music: started", 30*time.Second)
		at, err := strconv.ParseInt(start["started_unix_ns"].(string), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if start["scheduled_unix_ns"] != cue["local_start_unix_ns"] {
			t.Errorf("node %d started its player for %v, want the cue's local start %v", i, start["scheduled_unix_ns"], cue["local_start_unix_ns"])
		}
		started = append(started, at)
		rtt, _ := cue["rtt"].(float64)
		late, _ := start["late"].(float64)
		t.Logf("node %d: voice %d, %d tones, cue %s, measured the conductor with a round trip of %v, player began %v after the instant",
			i, i+1, len(plan.Expected()), cue["cue"], time.Duration(rtt), time.Duration(late))
	}
	if cues[1] != cues[0] || cues[2] != cues[0] {
		t.Errorf("the nodes played different cues (id, conductor's start): %q", cues)
	}
	spread := time.Duration(slices.Max(started) - slices.Min(started))
	t.Logf("the three players began within %v of each other (same machine clock)", spread)

	// A voice knocked into A alone: A conducts, B and C acknowledge the
	// cue and, with no pool of the knocker's, play nothing.
	plan := composeSong(t, "ode-to-joy", sequence.ComposeOptions{Notes: true})
	plan.Knocks = plan.Knocks[:len(plan.Knocks)-1]
	knockSong(t, l.knocker, l.addrs[0], plan)
	// Twice: the second ensemble knock comes before the first cue's
	// start, and conducts nothing.
	knockPorts(t, l.knocker, l.addrs[0], send.Target{Port: 1003, Proto: knock.TCP}, send.Target{Port: 1003, Proto: knock.TCP})
	ds[0].waitLog("daemon: fleet: ensemble knock refused: a cue for the knocker's pool is under way", 30*time.Second)
	waitSongs(t, filepath.Join(ds[0].dir, "state"), 2)
	if n := strings.Count(ds[0].log(), `"msg":"daemon: fleet: conducted"`); n != 2 {
		t.Errorf("A conducted %d cues, want 2 (the round's, and one for two ensemble knocks)", n)
	}
	for i, d := range ds[1:] {
		d.waitLog("daemon: fleet: cue: no pool of the knocker's here; playing nothing", 30*time.Second)
		if n := len(playedSongs(t, filepath.Join(d.dir, "state"))); n != 1 {
			t.Errorf("node %d played %d songs, want only its voice of the round", i+1, n)
		}
	}

	// One song per voice (knock --song V1 --song V2 --song V3
	// --orchestra A B C), from each source --song takes: an MML file, an
	// RTTTL file and an embedded song. Each node plays exactly its file's
	// song, from a third cue.
	dir := t.TempDir()
	voices := []string{
		filepath.Join(dir, "violin.mml"),
		filepath.Join(dir, "viola.rtttl"),
		"twinkle-twinkle",
	}
	for file, text := range map[string]string{
		voices[0]: "T180 L8 O4 E G > C < G E G > C2",
		voices[1]: "viola:d=4,o=4,b=180:c,e,g,8e,8c,2g",
	} {
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args = []string{"--notes", "--orchestra"}
	for i, v := range voices {
		args = append(args, "--song", v, l.addrs[i].String())
	}
	out := knockOrchestra(t, l, args)
	for i, d := range ds {
		song, err := songs.Load(voices[i])
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("knocked voice %d (%q) into %v: ", i+1, song.Name, l.addrs[i]); !strings.Contains(out, want) {
			t.Errorf("knock's output has no %q:\n%s", want, out)
		}
		plan, err := sequence.Compose(song.Tones, sequence.DefaultProtocol(), sequence.ComposeOptions{Notes: true})
		if err != nil {
			t.Fatal(err)
		}
		played := waitSongs(t, filepath.Join(d.dir, "state"), []int{3, 2, 2}[i])
		checkSong(t, played[len(played)-1], plan)
	}

	// The audit chain: the conductor's three cues and each play, ten
	// records of three nodes; each node sends its own when it can.
	for deadline := time.Now().Add(60 * time.Second); ; {
		status, out := l.auditVerify(t, 2)
		if status != ExitOK {
			t.Fatalf("--audit-verify at C: status %d, output %q; want 0", status, out)
		}
		if strings.Contains(out, "10 records from 3 nodes, 0 breaks") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("--audit-verify at C: %q; want the three cues conducted and their seven plays, no breaks", out)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// knockOrchestra runs knock with args from the lab's knocker and returns
// what it printed.
func knockOrchestra(t *testing.T, l *fleetLab, args []string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := l.knocker.Do(func() error {
		if status := client.Run(context.Background(), args, &stdout, &stderr); status != client.ExitOK {
			t.Errorf("knock %q: status %d: %s", args, status, stderr.String())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("knock: %s", stdout.String())
	return stdout.String()
}
