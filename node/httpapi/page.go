package httpapi

import (
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/converge-crdt/converge/node"
)

// pageTmpl is the status page: readiness, members, queues, keys and
// counters, reloaded every 5 s. html/template escapes every value, so keys
// and names from peers cannot inject markup.
var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"hex":  func(v uint64) string { return fmt.Sprintf("%016x", v) },
	"when": func(t time.Time) string { return whenText(t) },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>converge {{.S.Name}}</title>
<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}.ok{color:#080}.bad{color:#b00}</style>
</head><body>
<h1>converge node {{.S.Name}}</h1>
<p id="readiness" class="{{if .S.Ready.Ready}}ok{{else}}bad{{end}}">{{if .S.Ready.Ready}}ready{{else}}not ready{{end}}: {{.S.Ready.Reason}}</p>
<p>replica <code>{{.S.ReplicaID}}</code>, epoch {{.S.Epoch}}, address {{.S.Addr}}, root digest <code id="root">{{hex .S.Root}}</code>, sequence {{.S.Seq}}</p>
<h2>Members ({{len .S.Members}} alive)</h2>
<table id="members"><tr><th>name</th><th>address</th><th>epoch</th><th>state</th></tr>
{{range .Members}}<tr><td>{{.Name}}</td><td>{{.Addr}}</td><td>{{.Epoch}}</td><td>{{.State}}{{if ne .State "alive"}} since {{when .Since}}{{end}}</td></tr>
{{end}}</table>
<h2>Queues</h2>
<table id="queues"><tr><th>broadcast queue</th><td>{{.S.QueueLen}}</td></tr><tr><th>inbound queue</th><td>{{.Inbound}}</td></tr></table>
<h2>Keys ({{len .S.Objects}})</h2>
<table id="keys"><tr><th>key</th><th>type</th><th>size (bytes)</th><th>digest</th><th>seq</th><th>last change</th></tr>
{{range .S.Objects}}<tr><td>{{.Key}}</td><td>{{.Type}}</td><td>{{.Size}}</td><td><code>{{hex .Digest}}</code></td><td>{{.Seq}}</td><td>{{when .Changed}}</td></tr>
{{end}}</table>
<h2>Counters</h2>
<table id="counters">{{range .Counters}}<tr><th>{{.Name}}</th><td>{{.Number}}</td></tr>
{{end}}</table>
<p>JSON: <a href="v1/status">status</a>, <a href="v1/ready">readiness</a>, <a href="v1/keys">keys</a>, <a href="v1/changes">change stream</a>, <a href="metrics">metrics</a></p>
</body></html>
`))

func whenText(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func (h *Handler) page(w http.ResponseWriter, _ *http.Request) {
	var counters []node.Metric
	inbound := 0.0
	for _, m := range h.n.Metrics() {
		switch {
		case m.Name == "converge_inbound_queue":
			inbound = m.Number
		case m.Kind == node.KindCounter && m.Label == "":
			counters = append(counters, m)
		}
	}
	st := h.n.Status()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = pageTmpl.Execute(w, struct {
		S        node.Status
		Members  []memberRow
		Inbound  float64
		Counters []node.Metric
	}{st, h.gone.rows(st.Members), inbound, counters})
}
