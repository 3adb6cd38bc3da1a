package node

import (
	"encoding/json"
	"regexp"
	"strconv"
	"testing"
)

// TestStatusJSONIsSnakeCaseWithStringInts: every name in Status JSON is
// snake_case (dbc6c32 wrote gossip.Stats as PascalCase) and the 64-bit
// epoch, digests and sequence numbers are strings that parse back exactly.
func TestStatusJSONIsSnakeCaseWithStringInts(t *testing.T) {
	n := openLocal(t, Config{BindAddr: "127.0.0.1:0", Logger: testLogger()})
	c, err := GCounter(n, "c")
	must(t, err)
	must(t, c.Inc(ctxT(t), 1))
	b, err := json.Marshal(n.Status())
	must(t, err)
	var v map[string]any
	must(t, json.Unmarshal(b, &v))
	snakeName := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	var walk func(path string, x any)
	walk = func(path string, x any) {
		switch x := x.(type) {
		case map[string]any:
			for k, y := range x {
				// traffic is keyed by message type names, also snake_case
				if !snakeName.MatchString(k) {
					t.Errorf("%s: name %q is not snake_case", path, k)
				}
				walk(path+"."+k, y)
			}
		case []any:
			for _, y := range x {
				walk(path+"[]", y)
			}
		}
	}
	walk("status", v)
	if got := v["epoch"]; got != strconv.FormatUint(n.Epoch(), 10) {
		t.Errorf("epoch %#v, want the string %q", got, strconv.FormatUint(n.Epoch(), 10))
	}
	obj := v["objects"].([]any)[0].(map[string]any)
	st := n.Status()
	if obj["digest"] != strconv.FormatUint(st.Objects[0].Digest, 10) {
		t.Errorf("digest %#v, want %d as a string", obj["digest"], st.Objects[0].Digest)
	}
	member := v["members"].([]any)[0].(map[string]any)
	if _, ok := member["epoch"].(string); !ok {
		t.Errorf("member epoch %#v is not a string", member["epoch"])
	}
	var back Status
	must(t, json.Unmarshal(b, &back))
	if back.Epoch != n.Epoch() || back.Root != st.Root {
		t.Errorf("round trip: epoch %d root %d, want %d %d", back.Epoch, back.Root, n.Epoch(), st.Root)
	}
}
