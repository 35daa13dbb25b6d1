package status

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/knockbeep/knockbeep/internal/testtools"
	"github.com/knockbeep/knockbeep/sequence"
)

// webDriver is just enough of the W3C WebDriver protocol to drive
// Debian's chromium through chromedriver: open a page, run a script in
// it, take a screenshot.
type webDriver struct {
	base    string
	session string
}

func (wd *webDriver) call(t *testing.T, method, path string, body any) json.RawMessage {
	t.Helper()
	var in io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		in = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, wd.base+path, in)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("webdriver %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out struct {
		Value json.RawMessage `json:"value"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("webdriver %s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return out.Value
}

// startBrowser runs chromedriver with a headless chromium, or skips when
// they are missing and cannot be installed.
func startBrowser(t *testing.T) *webDriver {
	t.Helper()
	chromium := testtools.NeedCommand(t, "chromium", "chromium")
	driver := testtools.NeedCommand(t, "chromedriver", "chromium-driver")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(driver, "--port="+strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	wd := &webDriver{base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(wd.base + "/status"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("chromedriver did not answer within 20 s")
		}
	}
	var session struct {
		SessionID string `json:"sessionId"`
	}
	json.Unmarshal(wd.call(t, "POST", "/session", map[string]any{
		"capabilities": map[string]any{"alwaysMatch": map[string]any{
			"browserName": "chrome",
			"goog:chromeOptions": map[string]any{
				"binary": chromium,
				// No sandbox: the tests run as root, where chromium's
				// sandbox refuses to start.
				"args": []string{"--headless=new", "--no-sandbox", "--disable-gpu", "--mute-audio", "--window-size=1200,900"},
			},
		}},
	}), &session)
	wd.session = "/session/" + session.SessionID
	t.Cleanup(func() { wd.call(t, "DELETE", wd.session, nil) })
	return wd
}

// TestPageInABrowser opens the status page in a real browser with
// JavaScript used only by the test itself to look at what was rendered:
// the roll has one bar per note of the song, and the audio element loads
// the song's WAV.
func TestPageInABrowser(t *testing.T) {
	played := t.TempDir()
	// The first bars of the Imperial March: G G G E♭ B♭ G E♭ B♭ G.
	var steps []sequence.PoolStep
	for _, n := range []struct {
		note  string
		steps int
	}{{"G4", 5}, {"G4", 5}, {"G4", 5}, {"D#4", 3}, {"A#4", 1}, {"G4", 5}, {"D#4", 3}, {"A#4", 1}, {"G4", 8}} {
		midi, _ := sequence.ParseNote(n.note)
		for range n.steps {
			steps = append(steps, sequence.PoolStep{Kind: sequence.StepTone, Freq: sequence.NoteFreq(midi), Length: 100 * ms})
		}
		steps = append(steps, sequence.PoolStep{Kind: sequence.StepSilence, Length: 100 * ms})
	}
	archive(t, played, "20261202T101500.000Z_192.0.2.1", steps)
	tones := sequence.Compile(steps)
	ts := startServer(t, "127.0.0.1:0", played)
	wd := startBrowser(t)

	wd.call(t, "POST", wd.session+"/url", map[string]any{"url": ts.base + "/"})
	var got struct {
		Title      string  `json:"title"`
		DoorRows   int     `json:"doorRows"`
		Bars       int     `json:"bars"`
		RollWidth  float64 `json:"rollWidth"`
		ReadyState int     `json:"readyState"`
		Duration   float64 `json:"duration"`
		Error      string  `json:"error"`
	}
	raw := wd.call(t, "POST", wd.session+"/execute/async", map[string]any{"args": []any{}, "script": `
const done = arguments[arguments.length - 1];
const song = document.querySelector('.song');
const audio = song.querySelector('audio');
const report = () => done({
  title: document.title,
  doorRows: document.querySelectorAll('#doors tr').length - 1,
  bars: song.querySelectorAll('svg.roll rect.note').length,
  rollWidth: song.querySelector('svg.roll').getBoundingClientRect().width,
  readyState: audio.readyState,
  duration: audio.duration,
  error: audio.error ? String(audio.error.code) + ' ' + audio.error.message : '',
});
if (audio.readyState >= 1 || audio.error) { report(); } else {
  audio.addEventListener('loadedmetadata', report);
  audio.addEventListener('error', report);
  audio.load();
}`})
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("script result %s: %v", raw, err)
	}
	if png, err := base64.StdEncoding.DecodeString(string(bytes.Trim(wd.call(t, "GET", wd.session+"/screenshot", nil), `"`))); err == nil {
		if dir := os.Getenv("KNOCKBEEP_SCREENSHOTS"); dir != "" {
			os.WriteFile(dir+"/status-page.png", png, 0o644)
		}
	}
	var want time.Duration
	for _, tn := range tones {
		want += tn.Duration()
	}
	switch {
	case got.Title != "knockbeepd":
		t.Errorf("title %q", got.Title)
	case got.DoorRows != 2:
		t.Errorf("%d door rows, want 2", got.DoorRows)
	case got.Bars != len(tones) || got.Bars != 9:
		t.Errorf("the roll shows %d bars, want one per note: %d", got.Bars, len(tones))
	case got.RollWidth < 100:
		t.Errorf("the roll is %v px wide: not drawn", got.RollWidth)
	case got.Error != "" || got.ReadyState < 1:
		t.Errorf("the audio element did not load the WAV: readyState %d, error %q", got.ReadyState, got.Error)
	case got.Duration < want.Seconds()-0.01 || got.Duration > want.Seconds()+0.01:
		t.Errorf("the browser says the WAV lasts %.3f s, want %.3f s", got.Duration, want.Seconds())
	}
	t.Logf("browser: %+v", got)
}
