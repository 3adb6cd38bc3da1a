package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/converge-crdt/converge/node"
	"github.com/converge-crdt/converge/node/httpapi"
)

// Serve a node over HTTP; writes need the bearer token.
func Example() {
	n, _ := node.Open(node.Config{})
	defer n.Close()
	h, _ := httpapi.New(n, httpapi.Config{Token: "s3cret"})
	srv := httptest.NewServer(h)
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/v1/keys/jobs",
		strings.NewReader(`{"type":"GCounter","op":"inc","by":3}`))
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, _ := http.DefaultClient.Do(req)
	resp.Body.Close()

	resp, _ = http.Get(srv.URL + "/v1/keys/jobs")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.Contains(string(b), `"value": "3"`))
	// Output: 200 true
}

// New validates the Config.
func ExampleNew() {
	n, _ := node.Open(node.Config{})
	defer n.Close()
	_, err := httpapi.New(n, httpapi.Config{MaxStreams: -1})
	fmt.Println(err)
	// Output: httpapi: invalid config: MaxStreams -1
}

// ServeHTTP makes a Handler an http.Handler.
func ExampleHandler_ServeHTTP() {
	n, _ := node.Open(node.Config{})
	defer n.Close()
	h, _ := httpapi.New(n, httpapi.Config{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/ready", nil))
	fmt.Println(rec.Code)
	// Output: 200
}

// Serve listens on loopback unless Config.AllowRemote is set.
func ExampleHandler_Serve() {
	n, _ := node.Open(node.Config{})
	defer n.Close()
	h, _ := httpapi.New(n, httpapi.Config{})
	fmt.Println(h.Serve(context.Background(), "0.0.0.0:8080", nil))
	// Output: httpapi: invalid config: "0.0.0.0:8080" is not a loopback address (set Config.AllowRemote)
}

// DecodeWrite checks a write body and says what is wrong.
func ExampleDecodeWrite() {
	_, err := httpapi.DecodeWrite([]byte(`{"type":"GCounter","op":"inc"}`))
	fmt.Println(err)
	w, _ := httpapi.DecodeWrite([]byte(`{"type":"LWWMap","op":"set","field":"k","value":[1,2]}`))
	fmt.Println(w.Type, w.Op, *w.Field, string(w.Value))
	// Output:
	// httpapi: bad request: GCounter inc: "by" is required
	// LWWMap set k [1,2]
}

// A Cursor is the change stream's event id.
func ExampleParseCursor() {
	c, _ := httpapi.ParseCursor("42-7")
	fmt.Println(c.Epoch, c.Seq, c)
	_, err := httpapi.ParseCursor("7")
	fmt.Println(err)
	// Output:
	// 42 7 42-7
	// httpapi: bad request: cursor "7" is not <epoch>-<seq>
}

// String is the text form sent as the SSE id.
func ExampleCursor_String() {
	fmt.Println(httpapi.Cursor{Epoch: 1, Seq: 2})
	// Output: 1-2
}

// Value is the JSON form of a key; counters are strings.
func ExampleValue() {
	n, _ := node.Open(node.Config{})
	defer n.Close()
	h, _ := httpapi.New(n, httpapi.Config{Token: "t"})
	req := httptest.NewRequest("POST", "/v1/keys/p", strings.NewReader(`{"type":"PNCounter","op":"dec","by":2}`))
	req.Header.Set("Authorization", "Bearer t")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(strings.Contains(rec.Body.String(), `"value": "-2"`))
	// Output: true
}
