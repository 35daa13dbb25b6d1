package client_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/knock/client"
	"github.com/knockbeep/knockbeep/knock/send/sendtest"
	"github.com/knockbeep/knockbeep/sequence"
)

// BenchmarkImperialMarch knocks the Imperial March, with its tune, into the
// loopback of a private namespace at the default pacing, as
// "knock --song songs/imperial-march.beep 127.0.0.1" does, and checks with
// a tap that every knock of every run arrived in the plan's order. It
// reports the wall time per song.
func BenchmarkImperialMarch(b *testing.B) {
	song, err := sequence.ReadSongFile(imperialMarch)
	if err != nil {
		b.Fatal(err)
	}
	plan, err := sequence.Compose(song.Tones, sequence.DefaultProtocol(), sequence.ComposeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	ns := sendtest.NewNetns(b)
	var tap *sendtest.Tap
	var stderr bytes.Buffer
	b.ResetTimer()
	err = ns.Do(func() error {
		var err error
		if tap, err = sendtest.Listen("lo"); err != nil {
			return err
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if status := client.Run(context.Background(), []string{"--song", imperialMarch, "127.0.0.1"}, io.Discard, &stderr); status != client.ExitOK {
				return fmt.Errorf("knock exited with %d: %s", status, stderr.String())
			}
		}
		b.StopTimer()
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/song")
	b.ReportMetric(0, "ns/op")
	got := tap.WaitFor(b.N*len(plan.Knocks), 5*time.Second, arrived)
	if drops, err := tap.Close(); drops != 0 || err != nil {
		b.Fatalf("the tap lost %d packets (%v): loss and order cannot be judged", drops, err)
	}
	wrong := 0
	for i, p := range got {
		if p.Port != plan.Knocks[i%len(plan.Knocks)].Port(plan.Protocol) {
			wrong++
		}
	}
	b.ReportMetric(float64(b.N*len(plan.Knocks)-len(got)), "lost")
	b.ReportMetric(float64(wrong), "misplaced")
	if len(got) != b.N*len(plan.Knocks) || wrong != 0 {
		b.Errorf("%d of %d knocks arrived, %d out of place", len(got), b.N*len(plan.Knocks), wrong)
	}
}
