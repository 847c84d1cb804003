package main

import "fmt"

// selectLoop loops n times over a select with two always-ready buffered
// channels, refilled each iteration, and a default case. Twin of
// bench/src/workloads/select.rs.
func selectLoop(n int) {
	a := make(chan uint64, 1)
	b := make(chan uint64, 1)
	a <- 0
	b <- 0
	var defaults uint64
	for i := 0; i < n; i++ {
		select {
		// Put the value back (plus one) so the case is ready next time.
		case v := <-a:
			a <- v + 1
		case v := <-b:
			b <- v + 1
		default:
			defaults++
		}
	}
	va, vb := <-a, <-b
	if defaults != 0 {
		panic("select: both cases are always ready")
	}
	if va+vb != uint64(n) {
		panic(fmt.Sprintf("select: one case per iteration: %d != %d", va+vb, n))
	}
}
