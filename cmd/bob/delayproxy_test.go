package main

import (
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// delayProxyMain is the test binary run as "bob-delay-proxy LISTEN TARGET
// DELAY": it forwards each TCP connection on LISTEN to TARGET and holds
// every byte back DELAY in each direction, the latency of a far link. The
// tests' kernel has no netem, so tc cannot add it. It serves until killed.
func delayProxyMain() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: bob-delay-proxy LISTEN TARGET DELAY")
		os.Exit(2)
	}
	delay, err := time.ParseDuration(os.Args[3])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		go proxyDelayed(c.(*net.TCPConn), os.Args[2], delay)
	}
}

// proxyDelayed forwards c to target both ways, each DELAY late, until both
// directions end.
func proxyDelayed(c *net.TCPConn, target string, delay time.Duration) {
	defer c.Close()
	u, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer u.Close()
	var wg sync.WaitGroup
	wg.Go(func() { forwardDelayed(u.(*net.TCPConn), c, delay) })
	wg.Go(func() { forwardDelayed(c, u.(*net.TCPConn), delay) })
	wg.Wait()
}

// forwardDelayed copies src to dst, each chunk written delay after it was
// read, then half-closes dst.
func forwardDelayed(dst, src *net.TCPConn, delay time.Duration) {
	type chunk struct {
		b  []byte
		at time.Time
	}
	// Bounded: a full queue stops reading, so the sender's window closes
	// as on a real link.
	q := make(chan chunk, 256)
	go func() {
		defer close(q)
		for {
			b := make([]byte, 32<<10)
			n, err := src.Read(b)
			if n > 0 {
				q <- chunk{b[:n], time.Now().Add(delay)}
			}
			if err != nil {
				return
			}
		}
	}()
	failed := false
	for ch := range q { // drained to the end, so the reader always ends
		if failed {
			continue
		}
		time.Sleep(time.Until(ch.at))
		if _, err := dst.Write(ch.b); err != nil {
			failed = true
			src.CloseRead() // the reader stops at once
		}
	}
	dst.CloseWrite()
}
