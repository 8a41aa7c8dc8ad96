package live

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/testkit/servicetest"
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
	// Some connections first, so that one-off allocations (pools, the
	// library's package state, the runtime's stack cache) are not counted.
	const warm = 100
	for i := range warm {
		rawWebsocket(t, addr, fmt.Sprintf("warm-up-%d", i))
	}
	servicetest.Eventually(t, 5*time.Second, "the warm-up connections", func() bool { return ts.hub.m.connections.Load() == warm })

	before := inUse()
	for i := range n {
		rawWebsocket(t, addr, fmt.Sprintf("user-%d", i))
	}
	servicetest.Eventually(t, 30*time.Second, fmt.Sprintf("%d connections", warm+n), func() bool { return ts.hub.m.connections.Load() == warm+n })
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

// inUse is the live heap and the stack in use after a full collection. The
// heap figure is the bytes of live objects (HeapAlloc), not the spans that hold
// them (HeapInuse): how full the spans happen to be moves HeapInuse by 2 KiB a
// connection from run to run, which would make the budget a coin toss.
func inUse() memory {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memory{heap: int64(m.HeapAlloc), stack: int64(m.StackInuse), goroutines: runtime.NumGoroutine()}
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
