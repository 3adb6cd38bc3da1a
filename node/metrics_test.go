package node

import (
	"bufio"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sampleLine is one Prometheus text-format sample: a name, optional labels
// and an integer value.
var sampleLine = regexp.MustCompile(`^([a-z_]+)(\{(?:type|le)="[a-z_0-9.e+-Inf]+"\})? ([0-9.e+-]+)$`)

// scrape parses WriteMetrics' output, checking the format, and returns the
// samples by name (labels included).
func scrape(t *testing.T, n *Node) map[string]uint64 {
	t.Helper()
	var b strings.Builder
	must(t, n.WriteMetrics(&b))
	typed := map[string]bool{}
	out := map[string]uint64{}
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, kind, _ := strings.Cut(rest, " ")
			if kind != "counter" && kind != "gauge" && kind != "histogram" {
				t.Fatalf("metric %s has type %q", name, kind)
			}
			typed[name] = true
			continue
		}
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("not a sample line: %q", line)
		}
		base := m[1]
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(base, suf); ok && typed[b] {
				base = b
			}
		}
		if !typed[base] {
			t.Fatalf("sample %s before its # TYPE line", m[1])
		}
		f, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		out[m[1]+m[2]] = uint64(f)
	}
	return out
}

func TestWriteMetrics(t *testing.T) {
	ctx := ctxT(t)
	a := openLocal(t, Config{Name: "a", BindAddr: "127.0.0.1:0"})
	b := openLocal(t, Config{Name: "b", BindAddr: "127.0.0.1:0", Join: []string{a.Addr()}})
	must(t, a.WaitMembers(ctx, 2))
	before := scrape(t, a)
	if before["converge_members"] != 2 || before["converge_node_updates_total"] != 0 {
		t.Fatalf("before: members %d, updates %d", before["converge_members"], before["converge_node_updates_total"])
	}
	c, err := GCounter(a, "c")
	must(t, err)
	must(t, c.Inc(ctx, 5))
	cb, err := GCounter(b, "c")
	must(t, err)
	must(t, b.WaitFor(ctx, func() bool { return cb.Value() == 5 }))

	// Anti-entropy may bring the value to b before a's dissemination loop
	// sends the delta (both are ways the update travels; on a loaded host
	// the loop can run last), so wait for the send to be counted rather
	// than expect it by the time b has the value.
	deltasSent := func(m map[string]uint64) uint64 {
		return m[`converge_gossip_sent_messages_total{type="delta"}`] + m[`converge_gossip_sent_messages_total{type="batch"}`]
	}
	var after map[string]uint64
	deadline := time.Now().Add(30 * time.Second)
	for after = scrape(t, a); deltasSent(after) == 0 && time.Now().Before(deadline); after = scrape(t, a) {
		time.Sleep(10 * time.Millisecond)
	}
	if after["converge_node_updates_total"] != 1 || after["converge_objects"] != 1 {
		t.Errorf("after one update: updates %d, objects %d", after["converge_node_updates_total"], after["converge_objects"])
	}
	if deltasSent(after) == 0 {
		t.Errorf("no delta counted as sent within 30 s: %v", after)
	}
	if _, ok := after["converge_gossip_ae_rounds_total"]; !ok {
		t.Error("gossip counters missing")
	}
	if got := scrape(t, b)["converge_node_merged_total"]; got == 0 {
		t.Error("the receiver counts no merge")
	}

	rec := httptest.NewRecorder()
	a.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
	if !strings.Contains(rec.Body.String(), "converge_node_updates_total 1\n") {
		t.Errorf("handler body lacks the update counter:\n%s", rec.Body.String())
	}
}

func TestSnake(t *testing.T) {
	tests := []struct{ in, want string }{
		{in: "Merged", want: "merged"},
		{in: "AERootsEqual", want: "ae_roots_equal"},
		{in: "OversizeRerouted", want: "oversize_rerouted"},
		{in: "KeysSent", want: "keys_sent"},
	}
	for _, tc := range tests {
		if got := snake(tc.in); got != tc.want {
			t.Errorf("snake(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestMetricHelpSaysWhatItCounts: on dbc6c32 every counter's help read
// "Counters.X (see its documentation)", and failed joins of two queued
// deltas were exported as converge_gossip_join_errors_total, which reads as
// cluster joins.
func TestMetricHelpSaysWhatItCounts(t *testing.T) {
	n := openLocal(t, Config{BindAddr: "127.0.0.1:0", Logger: testLogger()})
	var b strings.Builder
	must(t, n.WriteMetrics(&b))
	out := b.String()
	for _, bad := range []string{"see its documentation", "converge_gossip_join_errors_total"} {
		if strings.Contains(out, bad) {
			t.Errorf("metrics contain %q", bad)
		}
	}
	for _, want := range []string{
		"# HELP converge_gossip_delta_join_errors_total Queued deltas of one key that could not be joined",
		"# HELP converge_gossip_join_failures_total Join attempts to one address that reached no node",
		"# HELP converge_node_updates_total Local updates applied",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
