package daemon

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/knockbeep/knockbeep/knock"
	"github.com/knockbeep/knockbeep/knock/send"
	"github.com/knockbeep/knockbeep/knock/send/sendtest"
	"github.com/knockbeep/knockbeep/sequence"
	"github.com/knockbeep/knockbeep/songs"
)

// TestStatusServer runs a daemon with [http] listen on a unix socket: its
// /metrics parses as Prometheus text and its counters move with the
// knocks; its page shows the door, the opening and the song played.
func TestStatusServer(t *testing.T) {
	ns := sendtest.NewNetns(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "http.sock")
	startDaemonIn(t, ns, dir, `
speaker = "wav:{{DIR}}/wav"
state_dir = "{{DIR}}/state"
[http]
listen = "`+sock+`"
[music]
[[door]]
name = "ssh"
sequence = ["7000", "8000"]
start_command = ["true"]
`, "-i", "lo")
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	get := func(path string) string {
		t.Helper()
		resp, err := client.Get("http://knockbeepd" + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	metric := func(name string) float64 {
		t.Helper()
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(strings.NewReader(get("/metrics")))
		if err != nil {
			t.Fatalf("/metrics does not parse: %v", err)
		}
		f := fams[name]
		if f == nil {
			t.Fatalf("/metrics has no %s", name)
		}
		m := f.Metric[0]
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
		return m.Gauge.GetValue()
	}
	if got := metric("knockbeep_opens_total"); got != 0 {
		t.Fatalf("opens before any knock: %v", got)
	}
	if got := metric("knockbeep_capture_interfaces_up"); got != 1 {
		t.Errorf("capture interfaces up: %v, want 1 (lo)", got)
	}
	addr := netip.MustParseAddr("127.0.0.1")
	knockPorts(t, ns, addr, send.Target{Port: 7000, Proto: knock.TCP}, send.Target{Port: 8000, Proto: knock.TCP})
	plan := composeSong(t, songs.ImperialMarch, sequence.ComposeOptions{Notes: true})
	plan.Knocks = append(plan.Knocks[:5:5], sequence.Knock{Kind: sequence.KnockPlay}) // four notes
	knockSong(t, ns, addr, plan)
	deadline := time.Now().Add(20 * time.Second)
	for metric("knockbeep_opens_total") != 1 || metric("knockbeep_songs_played_total") != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("after the knocks: opens %v, songs played %v; want 1 and 1", metric("knockbeep_opens_total"), metric("knockbeep_songs_played_total"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := metric("knockbeep_knocks_total"); got < float64(2+len(plan.Knocks)) {
		t.Errorf("knocks_total %v, want at least %d", got, 2+len(plan.Knocks))
	}
	for metric("knockbeep_command_duration_seconds") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the door's command is not in the command duration histogram")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(get("/metrics"), `knockbeep_door_knocks_total{door="ssh"} 2`) {
		t.Error(`/metrics lacks knockbeep_door_knocks_total{door="ssh"} 2`)
	}
	page := get("/")
	for _, want := range []string{"<td>ssh</td>", "<td>open</td>", "from 127.0.0.1", "4 notes", "<audio", "beep <code>-f 392 -l 350 -r 3"} {
		if !strings.Contains(page, want) {
			t.Errorf("the status page lacks %q", want)
		}
	}
	if n := strings.Count(page, `<rect class="note"`); n != 4 {
		t.Errorf("the piano roll has %d bars, want 4", n)
	}
}
