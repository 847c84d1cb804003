package main

import (
	"fmt"
	"time"
)

func main() {
	s := time.Now()
	for i := 0; i < 200; i++ {
		time.Sleep(time.Microsecond)
	}
	a := time.Since(s)
	t := time.Tick(10 * time.Microsecond)
	s = time.Now()
	for i := 0; i < 200; i++ {
		<-t
	}
	b := time.Since(s)
	s = time.Now()
	for i := 0; i < 100; i++ {
		time.Sleep(500 * time.Microsecond)
	}
	c := time.Since(s)
	fmt.Printf("sleep1us_x200=%v tick10us_x200=%v sleep500us_x100=%v\n", a, b, c)
}
