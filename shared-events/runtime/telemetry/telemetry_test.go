package telemetry_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/scs-platform/shared-events/runtime/telemetry"
)

// setup installs the global provider for one test and shuts it down when the
// test ends. The tests of this package share the process-wide provider, so
// none of them runs in parallel.
func setup(t *testing.T, opts ...telemetry.Option) func(context.Context) error {
	t.Helper()
	shutdown, err := telemetry.Setup(context.Background(), "test-system", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shutdown(context.Background()) })
	return shutdown
}

func TestSetupRefusesAnUnknownExporter(t *testing.T) {
	_, err := telemetry.Setup(context.Background(), "test-system", telemetry.WithExporter("jaeger"))
	if err == nil {
		t.Fatal("Setup accepted the exporter jaeger")
	}
	for _, want := range []string{"OTEL_TRACES_EXPORTER", `"jaeger"`, "none, stdout, otlp"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %s", err, want)
		}
	}
}

// TestSetupWithoutExporterMakesSampledIDs checks the default: nothing is
// exported, but every span has ids and passes on the sampled flag.
func TestSetupWithoutExporterMakesSampledIDs(t *testing.T) {
	setup(t)
	ctx, span := otel.Tracer("test").Start(context.Background(), "work")
	defer span.End()
	sc := span.SpanContext()
	if !sc.IsValid() || !sc.IsSampled() {
		t.Fatalf("span context %+v, want valid ids and the sampled flag", sc)
	}
	want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"
	if got := telemetry.TraceParent(ctx); got != want {
		t.Errorf("TraceParent = %q, want %q", got, want)
	}
}

func TestSetupStdoutWritesTheSpans(t *testing.T) {
	var out syncBuffer
	shutdown := setup(t, telemetry.WithExporter(telemetry.ExporterStdout), telemetry.WithStdout(&out))
	_, span := otel.Tracer("test").Start(context.Background(), "stdout-span")
	traceID := span.SpanContext().TraceID().String()
	span.End()
	// Shutdown flushes the batch: the span is written by the time it returns.
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, `"Name":"stdout-span"`) || !strings.Contains(got, traceID) || !strings.Contains(got, "test-system") {
		t.Errorf("stdout = %q, want the span, its trace id and the service name", got)
	}
}

// TestSetupOTLPSendsToTheConfiguredCollector checks that the OTLP exporter
// takes its collector from OTEL_EXPORTER_OTLP_ENDPOINT and posts the spans to
// its /v1/traces.
func TestSetupOTLPSendsToTheConfiguredCollector(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	var body []byte
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		body = append(body, b...)
		mu.Unlock()
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	shutdown := setup(t, telemetry.WithExporter(telemetry.ExporterOTLP))
	_, span := otel.Tracer("test").Start(context.Background(), "otlp-span")
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) != 1 || paths[0] != "POST /v1/traces application/x-protobuf" {
		t.Errorf("collector got %q, want one POST /v1/traces of protobuf", paths)
	}
	// The protobuf holds the strings as they are.
	if !bytes.Contains(body, []byte("otlp-span")) || !bytes.Contains(body, []byte("test-system")) {
		t.Errorf("the export lacks the span's name or the service name")
	}
}

func TestTraceParentRoundTrip(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ctx := telemetry.ContextWithTraceParent(context.Background(), tp)
	if got := telemetry.TraceParent(ctx); got != tp {
		t.Errorf("TraceParent(ContextWithTraceParent(%q)) = %q", tp, got)
	}
	for _, bad := range []string{"", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "garbage", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"} {
		if telemetry.ValidTraceParent(bad) {
			t.Errorf("ValidTraceParent(%q) = true", bad)
		}
		if got := telemetry.TraceParent(telemetry.ContextWithTraceParent(context.Background(), bad)); got != "" {
			t.Errorf("a context from %q carries the traceparent %q", bad, got)
		}
	}
	if !telemetry.ValidTraceParent(tp) {
		t.Errorf("ValidTraceParent(%q) = false", tp)
	}
}

// syncBuffer is a bytes.Buffer that goroutines may write at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// recorder returns a span recorder installed as the global provider's
// processor for the test.
func recorder(t *testing.T) *tracetest.SpanRecorder {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	setup(t, telemetry.WithSpanProcessor(rec))
	return rec
}
