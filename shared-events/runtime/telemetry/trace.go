package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// traceContext is the format of the events' traceparent attribute and of the
// messages' traceparent header. It is used directly rather than through the
// global propagator: the contract fixes the events' format, whatever a process
// configures for its other traffic.
var traceContext = propagation.TraceContext{}

const traceParentKey = "traceparent"

// TraceParent is the W3C traceparent of the span in ctx, or "" when ctx
// carries none.
func TraceParent(ctx context.Context) string {
	c := propagation.MapCarrier{}
	traceContext.Inject(ctx, c)
	return c[traceParentKey]
}

// ContextWithTraceParent returns ctx with the remote span that tp names as the
// parent of the next span started in it, and as the trace of what is logged
// with it. An empty or malformed tp leaves ctx as it is.
func ContextWithTraceParent(ctx context.Context, tp string) context.Context {
	if tp == "" {
		return ctx
	}
	return traceContext.Extract(ctx, propagation.MapCarrier{traceParentKey: tp})
}

// ValidTraceParent reports whether tp is a W3C traceparent naming a valid span.
func ValidTraceParent(tp string) bool {
	return trace.SpanContextFromContext(ContextWithTraceParent(context.Background(), tp)).IsValid()
}
