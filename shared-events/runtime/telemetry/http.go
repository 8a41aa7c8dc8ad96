package telemetry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// HeaderRequestID names the request id a client (the front door, a test, an
// operator's curl) may send and every response carries.
const HeaderRequestID = "X-Request-Id"

// MaxRequestIDLength bounds an incoming X-Request-Id: it is copied into every
// log line of its request and into the response.
const MaxRequestIDLength = 128

type requestIDKey struct{}

// ContextWithRequestID returns ctx carrying the request id id.
func ContextWithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID is the request id in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Handler serves next in a server span per request, continuing the trace of an
// incoming traceparent header through the global propagator (see Setup), and
// gives each request a request id: its X-Request-Id if that is sane (see
// SaneRequestID), else its trace id. The id is in the request's context, for
// the log lines (see NewLogHandler), and in the response's X-Request-Id.
//
// The span is named by the method alone until the router has matched a route;
// SetRoute, called from inside the router, names it by the route pattern.
// Naming it by the path would make a span name per user id.
func Handler(next http.Handler) http.Handler {
	withID := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(HeaderRequestID)
		if SaneRequestID(id) {
			trace.SpanFromContext(r.Context()).SetAttributes(semconv.HTTPRequestHeader("x-request-id", id))
		} else {
			id = requestIDFromTrace(r.Context())
		}
		w.Header().Set(HeaderRequestID, id)
		next.ServeHTTP(w, r.WithContext(ContextWithRequestID(r.Context(), id)))
	})
	return otelhttp.NewHandler(withID, "http.server", otelhttp.WithFilter(traced))
}

// traced leaves two kinds of request out of the traces. The probes that
// orchestrators and Prometheus make every few seconds: a span each would bury
// the users'. And websocket upgrades: the handler of one returns when the
// connection closes, hours later, so its span would be a connection's
// lifetime rather than a request's, and held 5 KiB of memory for each open
// connection all along (measured: 22.9 → 28.1 KiB an idle connection).
func traced(r *http.Request) bool {
	switch r.URL.Path {
	case "/healthz", "/readyz", "/metrics":
		return false
	}
	return !strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// requestIDFromTrace is the trace id of the request's span. Without Setup the
// global provider makes no ids, and a random id stands in.
func requestIDFromTrace(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		return sc.TraceID().String()
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// SaneRequestID reports whether an incoming request id may be used as it is:
// from 1 to MaxRequestIDLength visible ASCII characters. Anything else (control
// characters that would forge log lines, spaces, non-ASCII, a megabyte of
// header) is replaced.
func SaneRequestID(id string) bool {
	if id == "" || len(id) > MaxRequestIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '!' || id[i] > '~' {
			return false
		}
	}
	return true
}

// SetRoute names the server span in ctx by the route the request matched, as
// "GET /chat/{id}", and records the route as its http.route. Call it from
// inside the router once it has routed; method is the request's method.
func SetRoute(ctx context.Context, method, route string) {
	span := trace.SpanFromContext(ctx)
	if route == "" || !span.IsRecording() {
		return
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
	default:
		// As otelhttp names a span of a method it does not know: a client must
		// not make up span names.
		method = "HTTP"
	}
	span.SetName(method + " " + route)
	span.SetAttributes(semconv.HTTPRoute(route))
}
