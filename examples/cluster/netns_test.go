package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// netnsLab is a bridge in a hub namespace with one namespace per node,
// each joined to the bridge by a veth pair. Nothing is created in the
// test's own namespace.
type netnsLab struct {
	t     *testing.T
	hub   string
	nodes []string // namespace names
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// newNetnsLab creates the namespaces, or skips the test if it cannot.
func newNetnsLab(t *testing.T, n int) *netnsLab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("not root: the multi-host test needs network namespaces (ip netns add)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no ip command (iproute2): the multi-host test needs network namespaces")
	}
	tag := fmt.Sprintf("cvg%d", os.Getpid()%100000)
	lab := &netnsLab{t: t, hub: tag + "hub"}
	if err := ipCmd("netns", "add", lab.hub); err != nil {
		t.Skipf("cannot create a network namespace here: %v", err)
	}
	t.Cleanup(lab.remove)
	must := func(args ...string) {
		t.Helper()
		if err := ipCmd(args...); err != nil {
			t.Fatal(err)
		}
	}
	must("-n", lab.hub, "link", "add", "br0", "type", "bridge")
	must("-n", lab.hub, "link", "set", "br0", "up")
	for i := 1; i <= n; i++ {
		ns := fmt.Sprintf("%sn%d", tag, i)
		must("netns", "add", ns)
		lab.nodes = append(lab.nodes, ns)
		veth := fmt.Sprintf("v%d", i)
		must("-n", lab.hub, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
		must("-n", lab.hub, "link", "set", veth, "master", "br0")
		must("-n", lab.hub, "link", "set", veth, "up")
		must("-n", ns, "addr", "add", lab.addr(i)+"/24", "dev", "eth0")
		must("-n", ns, "link", "set", "eth0", "up")
		must("-n", ns, "link", "set", "lo", "up")
	}
	return lab
}

func (l *netnsLab) addr(i int) string { return fmt.Sprintf("10.231.0.%d", i) }

// link sets node i's link to the bridge up or down.
func (l *netnsLab) link(i int, up bool) {
	l.t.Helper()
	state := "down"
	if up {
		state = "up"
	}
	if err := ipCmd("-n", l.hub, "link", "set", fmt.Sprintf("v%d", i), state); err != nil {
		l.t.Fatal(err)
	}
}

func (l *netnsLab) remove() {
	for _, ns := range append(l.nodes, l.hub) {
		if err := ipCmd("netns", "del", ns); err != nil {
			l.t.Logf("cleanup: %v", err)
		}
	}
}

// client runs the Python client inside node i's namespace against its
// sidecar on the namespace's loopback.
func (l *netnsLab) client(i int, args ...string) (string, error) {
	argv := append([]string{"netns", "exec", l.nodes[i-1], "python3", "python/converge.py", "http://127.0.0.1:8080"}, args...)
	cmd := exec.Command("ip", argv...)
	cmd.Env = append(os.Environ(), "CONVERGE_TOKEN=t")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

type nsStatus struct {
	Root    string            `json:"root_digest"`
	Members []json.RawMessage `json:"members"`
}

func (l *netnsLab) status(i int) (nsStatus, error) {
	out, err := l.client(i, "status")
	var st nsStatus
	if err == nil {
		err = json.Unmarshal([]byte(out), &st)
	}
	return st, err
}

// TestMultiHostPartitionHeals runs 3 node processes, each in its own network
// namespace on a bridge, with addresses only there. It writes, cuts one
// node's link, writes on both sides, restores the link and waits until all
// three hold the same state, with every write present.
func TestMultiHostPartitionHeals(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not found: the multi-host test drives the nodes with the Python client")
	}
	const nodes = 3
	lab := newNetnsLab(t, nodes)
	bin := buildCluster(t)
	for i := 1; i <= nodes; i++ {
		args := []string{"netns", "exec", lab.nodes[i-1], bin, "-name", fmt.Sprintf("n%d", i),
			"-bind", lab.addr(i) + ":7946", "-http", "127.0.0.1:8080", "-token", "t", "-every", "1s"}
		if i > 1 {
			args = append(args, "-join", lab.addr(1)+":7946")
		}
		p := startCommand(t, fmt.Sprintf("n%d", i), "ip", args...)
		p.waitLine(t, "http on ", time.Minute)
	}
	waitAll := func(what string, cond func(i int, st nsStatus) bool) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			ok := true
			for i := 1; i <= nodes && ok; i++ {
				st, err := lab.status(i)
				ok = err == nil && cond(i, st)
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				var b strings.Builder
				for i := 1; i <= nodes; i++ {
					st, err := lab.status(i)
					fmt.Fprintf(&b, "\nn%d: %d members root %s %v", i, len(st.Members), st.Root, err)
				}
				t.Fatalf("not %s after 2m:%s", what, b.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitAll("3 members", func(_ int, st nsStatus) bool { return len(st.Members) == nodes })
	write := func(i int, key string) {
		t.Helper()
		if out, err := lab.client(i, "inc", key, "1"); err != nil {
			t.Fatalf("write on n%d: %v\n%s", i, err, out)
		}
	}
	write(1, "before")

	lab.link(nodes, false)
	waitAll("split", func(i int, st nsStatus) bool {
		if i == nodes {
			return len(st.Members) == 1
		}
		return len(st.Members) == nodes-1
	})
	write(1, "majority")
	write(nodes, "minority")
	lab.link(nodes, true)

	var root string
	waitAll("converged", func(i int, st nsStatus) bool {
		if i == 1 {
			root = st.Root
		}
		return len(st.Members) == nodes && st.Root == root
	})
	for i := 1; i <= nodes; i++ {
		for _, key := range []string{"before", "majority", "minority"} {
			out, err := lab.client(i, "get", key)
			if err != nil || !strings.Contains(out, `"value": "1"`) {
				t.Errorf("n%d %s: %v %s", i, key, err, out)
			}
		}
	}
}
