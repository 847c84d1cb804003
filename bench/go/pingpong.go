package main

import "fmt"

// pingpong bounces an integer between main and an echo goroutine over two
// unbuffered channels, n round trips. Twin of bench/src/workloads/pingpong.rs.
func pingpong(n int) {
	ping := make(chan uint64)
	pong := make(chan uint64)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
	}()
	var v uint64
	for i := 0; i < n; i++ {
		ping <- v
		v = <-pong
	}
	close(ping)
	if v != uint64(n) {
		panic(fmt.Sprintf("pingpong: every round trip adds one: %d != %d", v, n))
	}
}
