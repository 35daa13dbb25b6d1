package status

import (
	"html/template"
	"time"
)

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"ago": func(now, t time.Time) string { return now.Sub(t).Round(time.Second).String() },
	"ms":  func(d time.Duration) string { return d.Round(time.Millisecond).String() },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>knockbeepd</title>
<style>
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { text-align: left; padding: .2em .8em .2em 0; border-bottom: 1px solid #ddd; vertical-align: top; }
code { font-size: .85em; word-break: break-all; }
svg.roll { background: #f6f6f6; border: 1px solid #ccc; display: block; margin: .3em 0; }
svg.roll rect.note { fill: #2a6fdb; }
.song { margin-bottom: 1.5em; }
</style>
</head>
<body>
<h1>knockbeepd</h1>
<p>Version {{.Version}}, up {{ago .Now .Started}}. Capturing on: {{range $i, $n := .Interfaces}}{{if $i}}, {{end}}{{$n}}{{else}}no interface{{end}}.</p>

<h2>Doors</h2>
<table id="doors">
<tr><th>door</th><th>kind</th><th>state</th><th>opened in the last hour</th></tr>
{{range .Doors}}<tr><td>{{.Name}}</td><td>{{.Kind}}</td><td>{{.State}}</td><td>{{.OpensLastHr}}</td></tr>
{{else}}<tr><td colspan="4">no doors</td></tr>
{{end}}</table>

<h2>Recent events</h2>
<table id="events">
<tr><th>when</th><th>what</th><th>door</th><th>source</th><th></th></tr>
{{range .Events}}<tr><td>{{.Time.Format "2006-01-02 15:04:05"}}</td><td>{{.Kind}}</td><td>{{.Door}}</td><td>{{.Source}}</td><td>{{.Message}}</td></tr>
{{else}}<tr><td colspan="5">nothing yet</td></tr>
{{end}}</table>

<h2>Recent songs</h2>
{{if .SongsErr}}<p>The archive of played songs could not be read: {{.SongsErr}}</p>{{end}}
{{range .Songs}}<div class="song" id="song-{{.Name}}">
<h3>{{.Time.Format "2006-01-02 15:04:05"}} from {{.Source}}</h3>
{{if .Err}}<p>This song's pool could not be read: {{.Err}}</p>{{else}}
<p>{{.Notes}} notes, {{ms .Duration}}.</p>
{{.Roll}}
{{if .WAV}}<audio controls preload="metadata" src="{{.WAV}}"></audio>{{end}}
<p>beep <code>{{.BeepArgs}}</code></p>
{{end}}</div>
{{else}}<p>No song played yet.</p>
{{end}}
</body>
</html>
`))
