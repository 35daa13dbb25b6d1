package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/sequence"
	"github.com/knockbeep/knockbeep/songs"
)

// Without a [cluster], the ensemble knock plays the knocker's pool at
// once, as the play port would: alice's voice, knocked without its play
// knock, plays when she knocks the ensemble port. An ACK to that port is
// no knock, and bob, who composed nothing, plays nothing.
func TestEnsembleKnockWithoutCluster(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "wav"), 0o755)
	cfg, _ := testConfig(t, dir, `
speaker = "wav:{{DIR}}/wav"
state_dir = "{{DIR}}/state"
[music]
ensemble_port = 1500
`)
	data, file, err := songs.Read("three-voice-round")
	if err != nil {
		t.Fatal(err)
	}
	song, err := sequence.ParseSong(file, data)
	if err != nil {
		t.Fatal(err)
	}
	voice, _ := song.Voice(1)
	plan, err := sequence.Compose(voice, sequence.DefaultProtocol(), sequence.ComposeOptions{Notes: true})
	if err != nil {
		t.Fatal(err)
	}
	plan.Knocks = plan.Knocks[:len(plan.Knocks)-1] // no play knock
	const alice, bob = "192.0.2.10", "192.0.2.11"
	end := time.Duration(len(plan.Knocks)+10) * time.Millisecond
	pcap := pcapFile(t, interleave(planPackets(plan, 0, alice, hostAddr4), []packet{
		tcp(end, alice, hostAddr4, 1500, knock.SYN|knock.ACK),
		syn(end+time.Millisecond, bob, hostAddr4, 1500),
		syn(end+2*time.Millisecond, alice, hostAddr4, 1500),
	})...)
	logger, logs := testLogger(t)
	replay(t, cfg, Options{Logger: logger}, pcap)

	played := playedSongs(t, filepath.Join(dir, "state"))
	if len(played) != 1 {
		t.Fatalf("%d songs played, want alice's voice only", len(played))
	}
	if !strings.Contains(played[0].pool, alice) {
		t.Errorf("played %s, want alice's pool", played[0].pool)
	}
	if diff := diffTones(plan.Expected(), sequence.Compile(played[0].steps)); diff != "" {
		t.Errorf("pool %s: %s", filepath.Base(played[0].pool), diff)
	}
	checkWAV(t, played[0].wav, plan.Expected())
	if n := strings.Count(logs.String(), "daemon: ensemble knock without a [cluster]: playing the pool here at once"); n != 1 {
		t.Errorf("logged the ensemble play %d times, want 1", n)
	}
}
