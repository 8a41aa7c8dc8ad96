package telemetry_test

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/scs-platform/shared-events/runtime/health"
	"github.com/scs-platform/shared-events/runtime/telemetry"
)

// logLines decodes the JSON lines of a slog.JSONHandler.
func logLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		lines = append(lines, line)
	}
	return lines
}

// TestRequestIDsInTheLogs checks that a line logged while a request is handled
// carries the request id and the trace id, that the response echoes the id,
// and that only a sane X-Request-Id is taken over: any other is replaced by the
// trace id.
func TestRequestIDsInTheLogs(t *testing.T) {
	sane128 := strings.Repeat("a", telemetry.MaxRequestIDLength)
	tests := []struct {
		name, given string
		kept        bool
	}{
		{"none given", "", false},
		{"sane", "req-7f3a/b+c=", true},
		{"as long as allowed", sane128, true},
		{"too long", sane128 + "a", false},
		{"newline forging a log line", "abc\nlevel=ERROR msg=forged", false},
		{"control character", "abc\x01def", false},
		{"escape sequence", "abc\x1b[31mred", false},
		{"space", "two words", false},
		{"not ASCII", "r\u00e9quisition", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := recorder(t)
			var out syncBuffer
			logger := slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(&out, nil))).With("system", "test")
			h := telemetry.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				logger.InfoContext(r.Context(), "handled")
				logger.Info("without a context")
			}))
			req := httptest.NewRequest(http.MethodGet, "/things/1", nil)
			if tt.given != "" {
				// Set on the map directly: the client would refuse some of these,
				// a raw connection would not.
				req.Header["X-Request-Id"] = []string{tt.given}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)

			spans := rec.Ended()
			if len(spans) != 1 {
				t.Fatalf("%d spans ended, want the request's one", len(spans))
			}
			traceID := spans[0].SpanContext().TraceID().String()
			want := traceID
			if tt.kept {
				want = tt.given
			}
			if got := w.Header().Get("X-Request-Id"); got != want {
				t.Errorf("response X-Request-Id = %q, want %q", got, want)
			}
			lines := logLines(t, out.String())
			if len(lines) != 2 {
				t.Fatalf("logged %d lines, want 2:\n%s", len(lines), out.String())
			}
			if lines[0]["request_id"] != want || lines[0]["trace_id"] != traceID || lines[0]["system"] != "test" {
				t.Errorf("line logged with the request's context = %v, want request_id %q, trace_id %q and system", lines[0], want, traceID)
			}
			if _, ok := lines[1]["request_id"]; ok {
				t.Errorf("line logged without a context has a request_id: %v", lines[1])
			}
			if _, ok := lines[1]["trace_id"]; ok {
				t.Errorf("line logged without a context has a trace_id: %v", lines[1])
			}
			if strings.Contains(out.String(), "\x01") || strings.Contains(out.String(), "\x1b") || strings.Contains(out.String(), "forged\"") {
				t.Errorf("the hostile id reached the log:\n%s", out.String())
			}
		})
	}
}

// TestHandlerContinuesTheIncomingTrace checks that a request with a
// traceparent is served in a child span of the caller's span.
func TestHandlerContinuesTheIncomingTrace(t *testing.T) {
	rec := recorder(t)
	var inHandler trace.SpanContext
	h := telemetry.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inHandler = trace.SpanContextFromContext(r.Context())
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)

	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans ended, want 1", len(spans))
	}
	s := spans[0]
	if s.SpanKind() != trace.SpanKindServer {
		t.Errorf("span kind %s, want server", s.SpanKind())
	}
	if got := s.SpanContext().TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("trace id %s, want the caller's", got)
	}
	if got := s.Parent().SpanID().String(); got != "00f067aa0ba902b7" || !s.Parent().IsRemote() {
		t.Errorf("parent %s (remote %v), want the caller's span", got, s.Parent().IsRemote())
	}
	if !inHandler.Equal(s.SpanContext()) {
		t.Errorf("the handler runs in span %s, want the server span %s", inHandler.SpanID(), s.SpanContext().SpanID())
	}
	if got := w.Header().Get("X-Request-Id"); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("X-Request-Id = %q, want the trace id", got)
	}
}

// TestSpanNamedByRoute checks that the server span is named by the route
// pattern that the router matched (through health's request metrics, which sit
// inside the router), never by the path, and by the method alone when nothing
// matched.
func TestSpanNamedByRoute(t *testing.T) {
	rec := recorder(t)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /things/{id}", func(http.ResponseWriter, *http.Request) {})
	durations := health.NewRequestDurations(func(r *http.Request) string { return strings.TrimPrefix(r.Pattern, r.Method+" ") })
	h := telemetry.Handler(durations.Middleware(mux))
	for _, path := range []string{"/things/42", "/nothing/here"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, path, nil))
	}
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans ended, want 2", len(spans))
	}
	if got := spans[0].Name(); got != "POST /things/{id}" {
		t.Errorf("span of a matched request is named %q, want %q", got, "POST /things/{id}")
	}
	var route string
	for _, a := range spans[0].Attributes() {
		if a.Key == semconv.HTTPRouteKey {
			route = a.Value.AsString()
		}
	}
	if route != "/things/{id}" {
		t.Errorf("http.route = %q, want /things/{id}", route)
	}
	if got := spans[1].Name(); got != "POST" {
		t.Errorf("span of an unmatched request is named %q, want POST", got)
	}
}

// TestHandlerLetsTheConnectionBeHijacked checks that the span's response
// writer passes hijacking through, which chat's websockets need.
func TestHandlerLetsTheConnectionBeHijacked(t *testing.T) {
	recorder(t)
	server := httptest.NewServer(telemetry.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		_ = buf.Flush()
	})))
	defer server.Close()
	resp, err := http.Get(server.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "hijacked" {
		t.Errorf("GET = %d %q, want 200 from the hijacked connection", resp.StatusCode, body)
	}
}

// TestProbesAndWebsocketsAreNotTraced: the probes and a websocket upgrade get
// no span (but still a request id); a page does.
func TestProbesAndWebsocketsAreNotTraced(t *testing.T) {
	rec := recorder(t)
	h := telemetry.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	untraced := []*http.Request{
		httptest.NewRequest(http.MethodGet, "/healthz", nil),
		httptest.NewRequest(http.MethodGet, "/readyz", nil),
		httptest.NewRequest(http.MethodGet, "/metrics", nil),
	}
	upgrade := httptest.NewRequest(http.MethodGet, "/chat/live", nil)
	upgrade.Header.Set("Connection", "Upgrade")
	upgrade.Header.Set("Upgrade", "WebSocket")
	untraced = append(untraced, upgrade)
	for _, r := range untraced {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Header().Get(telemetry.HeaderRequestID) == "" {
			t.Errorf("%s %s (Upgrade %q) got no request id", r.Method, r.URL.Path, r.Header.Get("Upgrade"))
		}
	}
	if spans := rec.Ended(); len(spans) != 0 {
		t.Errorf("%d spans for the probes and the websocket, want none", len(spans))
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/chat/", nil))
	if spans := rec.Ended(); len(spans) != 1 {
		t.Errorf("%d spans for a page, want 1", len(spans))
	}
}
