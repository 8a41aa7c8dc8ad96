package serve_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/runtime/serve"
)

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func TestRunStopsServerAndWorkersWhenContextEnds(t *testing.T) {
	ln := listen(t)
	ran := make(chan struct{})
	p := serve.Program{
		Server: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "ok")
		})},
		Listener: ln,
		Workers: []serve.Worker{{Name: "the worker", Run: func(ctx context.Context) error {
			close(ran)
			<-ctx.Done()
			return ctx.Err()
		}}},
		ShutdownTimeout: 5 * time.Second,
		Logger:          slog.New(slog.DiscardHandler),
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := false
	result := make(chan error, 1)
	go func() { result <- p.Run(ctx, func() { stopped = true }) }()

	<-ran
	resp, err := http.Get("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	select {
	case err := <-result:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	if !stopped {
		t.Error("Run did not call stop")
	}
}

func TestRunNamesTheWorkerThatDidNotStop(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	p := serve.Program{
		Server:   &http.Server{Handler: http.NotFoundHandler()},
		Listener: listen(t),
		Workers: []serve.Worker{
			{Name: "the quick worker", Run: func(ctx context.Context) error { <-ctx.Done(); return nil }},
			{Name: "the stuck worker", Run: func(context.Context) error { <-release; return nil }},
		},
		ShutdownTimeout: 50 * time.Millisecond,
		Logger:          slog.New(slog.DiscardHandler),
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := p.Run(ctx, func() {})
	if err == nil || !strings.Contains(err.Error(), "the stuck worker did not stop") || strings.Contains(err.Error(), "quick") {
		t.Errorf("Run = %v, want the stuck worker named alone", err)
	}
}

func TestRunStopsWorkersWhenTheServerFails(t *testing.T) {
	ln := listen(t)
	ln.Close()
	workerStopped := make(chan struct{})
	p := serve.Program{
		Server:   &http.Server{Handler: http.NotFoundHandler()},
		Listener: ln,
		Workers: []serve.Worker{{Name: "the worker", Run: func(ctx context.Context) error {
			<-ctx.Done()
			close(workerStopped)
			return nil
		}}},
		ShutdownTimeout: 5 * time.Second,
		Logger:          slog.New(slog.DiscardHandler),
	}
	if err := p.Run(context.Background(), func() {}); err == nil {
		t.Error("Run returned nil after the server failed")
	}
	select {
	case <-workerStopped:
	default:
		t.Error("the worker was still running")
	}
}
