// Package status is knockbeepd's small web server: Prometheus metrics at
// /metrics, and at / a status page for a person — the doors, what happened
// lately, and the songs played lately, each drawn as a piano roll with its
// WAV to listen to and the beep arguments that replay it.
//
// It is off unless the config's [http] listen names an address
// ("127.0.0.1:9120") or a unix socket path ("/run/knockbeep/http.sock").
// The page is plain server-rendered HTML and inline SVG: no script, no
// style sheet or font from elsewhere, so it works with JavaScript off and
// on a machine that reaches nothing.
//
// # Flow
//
//	Listen (at start: binds, so a bad address stops the daemon early) ─► Serve(ctx)
//	GET /metrics         ─► Options.Gatherer (the daemon's counters, read when scraped)
//	GET /                ─► Options.Snapshot (doors, recent events) + the played songs
//	                        under Options.PlayedDir, compiled and drawn (Roll)
//	GET /played/NAME.wav ─► that archived WAV file, nothing else from the disk
//
// The server never touches the daemon's state itself: Snapshot is the
// daemon's to answer (its owner fills it in), and songs are read from the
// archive the music doors write.
package status
