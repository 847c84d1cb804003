package main

import "fmt"

// buffered sends n integers from one producer through a channel of capacity
// 1024 to one consumer (main). Twin of bench/src/workloads/buffered.rs.
func buffered(n int) {
	ch := make(chan uint64, 1024)
	go func() {
		for i := 0; i < n; i++ {
			ch <- uint64(i)
		}
		close(ch)
	}()
	var sum uint64
	for v := range ch {
		sum += v
	}
	if sum != triangle(uint64(n)) {
		panic(fmt.Sprintf("buffered: every item arrives once: sum %d", sum))
	}
}

// triangle is 0 + 1 + .. + (n-1), modulo 2^64 like the wrapping sum.
func triangle(n uint64) uint64 {
	if n%2 == 0 {
		return (n / 2) * (n - 1)
	}
	return n * ((n - 1) / 2)
}
