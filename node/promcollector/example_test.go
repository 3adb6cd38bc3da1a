package promcollector_test

import (
	"fmt"

	"github.com/converge-crdt/converge/node"
	"github.com/converge-crdt/converge/node/promcollector"
	"github.com/prometheus/client_golang/prometheus"
)

// Register the collector in your own registry (or prometheus.DefaultRegisterer)
// and serve it with promhttp.HandlerFor.
func Example() {
	n, _ := node.Open(node.Config{})
	defer n.Close()
	c, err := promcollector.New(n, promcollector.Options{})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	fams, _ := reg.Gather()
	for _, f := range fams {
		if f.GetName() == "converge_objects" || f.GetName() == "converge_propagation_delay_seconds" {
			fmt.Println(f.GetName(), f.GetType())
		}
	}
	// Output:
	// converge_objects GAUGE
	// converge_propagation_delay_seconds HISTOGRAM
}

// New starts the beacon goroutines; Close stops them.
func ExampleNew() {
	n, _ := node.Open(node.Config{})
	defer n.Close()
	c, _ := promcollector.New(n, promcollector.Options{BeaconInterval: -1}) // observe only
	c.Close()
	fmt.Println(n.Keys())
	// Output: [converge/propagation-beacons]
}

// Collect is what a registry calls on every scrape.
func ExampleCollector_Collect() {
	n, _ := node.Open(node.Config{})
	defer n.Close()
	c, _ := promcollector.New(n, promcollector.Options{BeaconInterval: -1})
	defer c.Close()
	ch := make(chan prometheus.Metric, 1000)
	c.Collect(ch)
	close(ch)
	fmt.Println(len(ch) > 40)
	// Output: true
}

// Describe lists the families Collect sends.
func ExampleCollector_Describe() {
	n, _ := node.Open(node.Config{})
	defer n.Close()
	c, _ := promcollector.New(n, promcollector.Options{BeaconInterval: -1})
	defer c.Close()
	ch := make(chan *prometheus.Desc, 1000)
	c.Describe(ch)
	close(ch)
	fmt.Println(len(ch) > 40)
	// Output: true
}

// Close waits for the collector's goroutines.
func ExampleCollector_Close() {
	n, _ := node.Open(node.Config{})
	defer n.Close()
	c, _ := promcollector.New(n, promcollector.Options{})
	c.Close()
	fmt.Println("closed")
	// Output: closed
}
