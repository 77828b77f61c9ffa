// Package faultproxy is a TCP proxy for tests that makes a loopback link behave like a weak
// mobile one: latency, a bandwidth cap, and connections reset in the middle of a request or a
// response.
package faultproxy

import (
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Faults configures the link.
type Faults struct {
	// Latency is added before each chunk is forwarded.
	Latency time.Duration
	// BytesPerSecond caps each direction of each connection; 0 is no cap.
	BytesPerSecond int
	// ResetMeanBytes is the mean number of bytes, both directions together, that a connection
	// carries before it is reset (exponentially distributed, so resets fall anywhere: in request
	// headers, in bodies, between requests). 0 never resets.
	ResetMeanBytes int
}

// Proxy forwards connections to a target with faults.
type Proxy struct {
	ln     net.Listener
	target string
	faults atomic.Pointer[Faults]
	wg     sync.WaitGroup
	// Resets counts the connections it reset.
	Resets atomic.Int64
	// Up and Down count the bytes forwarded to the target and back: what crossed the link, as
	// opposed to what a client wrote into its socket before a reset.
	Up, Down atomic.Int64
	mu       sync.Mutex
	conns    map[net.Conn]bool
	closed   bool
}

// Start listens on a loopback port and forwards to target.
func Start(target string, f Faults) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.faults.Store(&f)
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the address clients connect to.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetFaults changes the faults of new and open connections.
func (p *Proxy) SetFaults(f Faults) { p.faults.Store(&f) }

// Close stops the proxy and cuts every connection.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = true
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.serve(in)
	}
}

func (p *Proxy) serve(in net.Conn) {
	defer p.wg.Done()
	out, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		in.Close()
		return
	}
	if !p.track(in) || !p.track(out) {
		in.Close()
		out.Close()
		return
	}
	defer p.untrack(in)
	defer p.untrack(out)
	// The connection's byte budget before a reset, shared by both directions.
	budget := &atomic.Int64{}
	budget.Store(-1)
	if f := p.faults.Load(); f.ResetMeanBytes > 0 {
		budget.Store(int64(rand.ExpFloat64()*float64(f.ResetMeanBytes)) + 1)
	}
	done := make(chan struct{}, 2)
	go func() { p.pipe(out, in, budget, &p.Up); done <- struct{}{} }()
	go func() { p.pipe(in, out, budget, &p.Down); done <- struct{}{} }()
	<-done
}

// pipe copies src to dst with the current latency and bandwidth, resetting both connections
// when the shared budget runs out.
func (p *Proxy) pipe(dst, src net.Conn, budget *atomic.Int64, carried *atomic.Int64) {
	buf := make([]byte, 16<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			f := p.faults.Load()
			chunk := buf[:n]
			if left := budget.Load(); left >= 0 && budget.Add(-int64(n)) < 0 {
				last := chunk[:max(0, min(int64(n), left))]
				p.write(dst, last, f)
				carried.Add(int64(len(last)))
				p.Resets.Add(1)
				for _, c := range []net.Conn{dst, src} {
					if tc, ok := c.(*net.TCPConn); ok {
						tc.SetLinger(0)
					}
					c.Close()
				}
				return
			}
			if p.write(dst, chunk, f) != nil {
				return
			}
			carried.Add(int64(n))
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			if tc, ok := dst.(*net.TCPConn); ok {
				tc.CloseWrite()
			}
			return
		}
	}
}

func (p *Proxy) write(dst net.Conn, b []byte, f *Faults) error {
	if f.Latency > 0 {
		time.Sleep(f.Latency)
	}
	if f.BytesPerSecond <= 0 {
		_, err := dst.Write(b)
		return err
	}
	const slice = 4 << 10
	for len(b) > 0 {
		n := min(slice, len(b))
		if _, err := dst.Write(b[:n]); err != nil {
			return err
		}
		time.Sleep(time.Duration(n) * time.Second / time.Duration(f.BytesPerSecond))
		b = b[n:]
	}
	return nil
}
