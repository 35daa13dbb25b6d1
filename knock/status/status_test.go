package status

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/knockbeep/knockbeep/beeper"
	"github.com/knockbeep/knockbeep/sequence"
)

var ms = time.Millisecond

func TestRollDrawsOneBarPerNote(t *testing.T) {
	tests := []struct {
		name  string
		tones []sequence.Tone
		bars  int
	}{
		{"empty", nil, 0},
		{"leading silence is no bar", []sequence.Tone{{Freq: 0, Length: 0, Delay: 300 * ms}, {Freq: 440, Length: 100 * ms}}, 1},
		{"three notes, rests between", []sequence.Tone{{Freq: 440, Length: 100 * ms, Delay: 50 * ms}, {Freq: 494, Length: 100 * ms}, {Freq: 523.25, Length: 200 * ms}}, 3},
		{"a note of length 0 is a rest", []sequence.Tone{{Freq: 440, Delay: 100 * ms}, {Freq: 440, Length: 100 * ms}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svg := string(Roll(tt.tones))
			if got := strings.Count(svg, `<rect class="note"`); got != tt.bars {
				t.Fatalf("%d bars, want %d: %s", got, tt.bars, svg)
			}
			if !strings.HasPrefix(svg, "<svg") || !strings.HasSuffix(svg, "</svg>") {
				t.Fatalf("not an svg element: %s", svg)
			}
		})
	}
}

func TestRollPlacesNotesInTimeAndPitch(t *testing.T) {
	svg := string(Roll([]sequence.Tone{{Freq: 440, Length: 500 * ms, Delay: 500 * ms}, {Freq: 880, Length: 500 * ms}}))
	re := regexp.MustCompile(`<rect class="note" x="([\d.]+)" y="(\d+)" width="([\d.]+)"`)
	m := re.FindAllStringSubmatch(svg, -1)
	if len(m) != 2 {
		t.Fatalf("bars: %v", m)
	}
	var x0, y0, w0, x1, y1 float64
	fmt.Sscan(m[0][1], &x0)
	fmt.Sscan(m[0][2], &y0)
	fmt.Sscan(m[0][3], &w0)
	fmt.Sscan(m[1][1], &x1)
	fmt.Sscan(m[1][2], &y1)
	if x1-x0 != 2*w0 {
		t.Errorf("the second note starts at %v, want one note and one rest (%v) after the first at %v", x1, 2*w0, x0)
	}
	if y1 != y0-12*rollRowHeight {
		t.Errorf("A5 drawn at y=%v, want an octave (12 rows) above A4 at y=%v", y1, y0)
	}
}

// archive writes a played song as the music doors do: a pool and a WAV.
func archive(t *testing.T, dir, stem string, steps []sequence.PoolStep) {
	t.Helper()
	var text strings.Builder
	if err := sequence.WritePool(&text, steps); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, stem+".pool"), []byte(text.String()), 0o640); err != nil {
		t.Fatal(err)
	}
	sp, err := beeper.Open("wav:"+filepath.Join(dir, stem+".wav"), beeper.Options{})
	if err != nil {
		t.Fatal(err)
	}
	player := beeper.NewPlayer(sp, beeper.PlayerOptions{})
	if _, err := player.Play(context.Background(), beeper.Song{Tones: sequence.Compile(steps)}); err != nil {
		t.Fatal(err)
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
}

type testServer struct {
	base   string
	client *http.Client
	hits   prometheus.Counter
}

func startServer(t *testing.T, listen, played string) *testServer {
	t.Helper()
	reg := prometheus.NewRegistry()
	hits := prometheus.NewCounter(prometheus.CounterOpts{Name: "knockbeep_test_knocks_total", Help: "test"})
	reg.MustRegister(hits)
	started := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	s, err := Listen(Options{
		Listen:   listen,
		Gatherer: reg,
		Snapshot: func(context.Context) (Snapshot, error) {
			return Snapshot{
				Version: "test", Started: started, Interfaces: []string{"lo"},
				Doors:  []Door{{Name: "ssh", Kind: "sequence", State: "open for 1 source", OpensLastHr: 3}, {Name: "<b>x</b>", Kind: "sequence", State: "closed"}},
				Events: []Event{{Time: started, Kind: "open", Door: "ssh", Source: "192.0.2.1"}},
			}, nil
		},
		PlayedDir: played,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	ts := &testServer{base: "http://" + s.Addr().String(), client: http.DefaultClient, hits: hits}
	if IsUnixSocket(listen) {
		ts.base = "http://unix"
		ts.client = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", listen)
		}}}
	}
	return ts
}

func (ts *testServer) get(t *testing.T, path string) (int, string, string) {
	t.Helper()
	resp, err := ts.client.Get(ts.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

func TestMetricsParseAndMove(t *testing.T) {
	for _, listen := range []string{"127.0.0.1:0", filepath.Join(t.TempDir(), "http.sock")} {
		t.Run(listen, func(t *testing.T) {
			ts := startServer(t, listen, "")
			value := func() float64 {
				code, _, body := ts.get(t, "/metrics")
				if code != 200 {
					t.Fatalf("/metrics: %d %s", code, body)
				}
				parser := expfmt.NewTextParser(model.UTF8Validation)
				families, err := parser.TextToMetricFamilies(strings.NewReader(body))
				if err != nil {
					t.Fatalf("/metrics does not parse as Prometheus text: %v\n%s", err, body)
				}
				f := families["knockbeep_test_knocks_total"]
				if f == nil {
					t.Fatalf("no knockbeep_test_knocks_total in %s", body)
				}
				return f.Metric[0].GetCounter().GetValue()
			}
			before := value()
			ts.hits.Add(3)
			if after := value(); after != before+3 {
				t.Fatalf("counter went from %v to %v, want +3", before, after)
			}
		})
	}
}

func TestPageShowsDoorsEventsAndSongs(t *testing.T) {
	played := t.TempDir()
	steps := []sequence.PoolStep{{Kind: sequence.StepTone, Freq: 440}, {Kind: sequence.StepTone, Freq: 440}, {Kind: sequence.StepSilence}, {Kind: sequence.StepTone, Freq: 494}}
	for i := range steps {
		steps[i].Length = 100 * ms
	}
	archive(t, played, "20261202T101500.000Z_192.0.2.1", steps)
	ts := startServer(t, "127.0.0.1:0", played)
	code, ctype, body := ts.get(t, "/")
	if code != 200 || !strings.HasPrefix(ctype, "text/html") {
		t.Fatalf("/: %d %s", code, ctype)
	}
	for _, want := range []string{
		"<td>ssh</td>", "open for 1 source", "<td>3</td>",
		"&lt;b&gt;x&lt;/b&gt;", // door names are escaped
		"192.0.2.1",
		"2 notes, 400ms",
		`<audio controls preload="metadata" src="/played/20261202T101500.000Z_192.0.2.1.wav">`,
		"-f 440 -l 200 -D 100 -n -f 494 -l 100",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if n := strings.Count(body, `<rect class="note"`); n != 2 {
		t.Errorf("the roll has %d bars, want 2", n)
	}
	if strings.Contains(body, "<script") || regexp.MustCompile(`(src|href)="https?:`).MatchString(body) {
		t.Error("the page uses a script or an outside resource")
	}

	code, ctype, wav := ts.get(t, "/played/20261202T101500.000Z_192.0.2.1.wav")
	if code != 200 || ctype != "audio/wav" || !strings.HasPrefix(wav, "RIFF") {
		t.Fatalf("WAV: %d %s %q", code, ctype, wav[:min(len(wav), 4)])
	}
}

func TestPageServesOnlyArchivedWAVs(t *testing.T) {
	played := t.TempDir()
	os.WriteFile(filepath.Join(played, "secret.wav"), []byte("RIFF"), 0o600)
	os.WriteFile(filepath.Join(filepath.Dir(played), "x.wav"), []byte("RIFF"), 0o600)
	ts := startServer(t, "127.0.0.1:0", played)
	for _, path := range []string{
		"/played/secret.wav",
		"/played/..%2Fx.wav",
		"/played/20261202T101500.000Z_..%2F..%2Fx.wav",
		"/played/20261202T101500.000Z_192.0.2.1.pool",
		"/played/20261202T101500.000Z_nosuch.wav",
	} {
		if code, _, _ := ts.get(t, path); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, code)
		}
	}
}

func TestListenRefusesAFileInTheWay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "http.sock")
	os.WriteFile(path, []byte("keep me"), 0o600)
	_, err := Listen(Options{Listen: path, Gatherer: prometheus.NewRegistry()})
	if err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("Listen over a regular file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep me" {
		t.Fatal("the file was replaced")
	}
}

func TestListenReplacesAStaleSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "http.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // a daemon that died left its socket behind
	startServer(t, path, "")
}
