package live

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/servicetest"
)

// maxIdleConnectionBytes is the memory budget of an idle connection.
const maxIdleConnectionBytes = 30 << 10

// TestIdleConnectionMemory opens 2,000 idle connections and reports what each
// costs the server in heap and stack: the websocket library's buffers, the
// HTTP server's hijacked connection, both goroutines, the queue. The clients
// are bare TCP connections that did the handshake by hand, so that they add
// next to nothing (a net.Conn each) to the figure.
//
//	go test -run TestIdleConnectionMemory -v ./internal/live/
func TestIdleConnectionMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 2,000 connections")
	}
	const n = 2000
	ts := startServer(t, Config{})
	addr := ts.srv.Listener.Addr().String()
	// One connection first, so that one-off allocations (pools, the library's
	// package state) are not counted.
	rawWebsocket(t, addr, "warm-up")
	servicetest.Eventually(t, 5*time.Second, "the first connection", func() bool { return ts.hub.m.connections.Load() == 1 })

	before := inUse()
	for i := range n {
		rawWebsocket(t, addr, fmt.Sprintf("user-%d", i))
	}
	servicetest.Eventually(t, 30*time.Second, fmt.Sprintf("%d connections", n+1), func() bool { return ts.hub.m.connections.Load() == n+1 })
	after := inUse()

	heap, stack := (after.heap-before.heap)/n, (after.stack-before.stack)/n
	per := heap + stack
	t.Logf("%d idle connections: %.1f KiB each (heap %.1f KiB + stack %.1f KiB; %.2f goroutines each)",
		n, float64(per)/1024, float64(heap)/1024, float64(stack)/1024, float64(after.goroutines-before.goroutines)/n)
	// The race detector makes stacks larger: there the figure is only reported.
	if per > maxIdleConnectionBytes && !raceEnabled {
		t.Errorf("an idle connection costs %d bytes, over the budget of %d", per, maxIdleConnectionBytes)
	}
}

// inUse is the heap and stack in use after a full collection.
func inUse() memory {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memory{heap: int64(m.HeapInuse), stack: int64(m.StackInuse), goroutines: runtime.NumGoroutine()}
}

type memory struct {
	heap, stack int64
	goroutines  int
}

// rawWebsocket opens a websocket with a hand-written handshake and keeps the
// bare connection open until the test ends.
func rawWebsocket(t *testing.T, addr, user string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET /?user=%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", user, addr)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %s", resp.Status)
	}
}
