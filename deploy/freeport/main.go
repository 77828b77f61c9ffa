// Command freeport prints free TCP ports on 127.0.0.1, one per line, so that deploy/test.sh can
// start MinIO without a fixed port that another program (or another test run) may hold.
//
// It asks the kernel: it binds port 0 as many times as asked, holding every listener until all are
// bound so the ports differ, then prints and releases them. Another process could take a port in the
// moment between release and use; test.sh retries with new ports when MinIO fails to start.
//
//	go run ./deploy/freeport 2
package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
)

func main() {
	n := 1
	if len(os.Args) > 1 {
		var err error
		if n, err = strconv.Atoi(os.Args[1]); err != nil || n < 1 || n > 100 {
			fmt.Fprintln(os.Stderr, "usage: freeport [count]")
			os.Exit(2)
		}
	}
	ls := make([]net.Listener, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, "freeport:", err)
			os.Exit(1)
		}
		ls = append(ls, l)
	}
	for _, l := range ls {
		fmt.Println(l.Addr().(*net.TCPAddr).Port)
		_ = l.Close()
	}
}
