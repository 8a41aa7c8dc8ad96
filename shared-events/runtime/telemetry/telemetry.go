// Package telemetry carries one trace from an HTTP request through the outbox
// and the broker into the consumer that applies its event, and puts the
// request's ids on every log line written on its behalf.
//
// Setup installs the process's TracerProvider and the W3C TraceContext
// propagator; Handler gives every request a server span and a request id;
// NewLogHandler adds request_id and trace_id to the lines logged with a
// context. The outbox stores the span of the context it appends in as the
// event's traceparent, the relay publishes it, and the consumer applies the
// event in a span that continues that trace.
package telemetry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// The exporters OTEL_TRACES_EXPORTER may name.
const (
	// ExporterNone exports nothing; spans, and so trace ids and request ids,
	// exist all the same.
	ExporterNone = "none"
	// ExporterStdout writes every span as JSON to the process's standard output.
	ExporterStdout = "stdout"
	// ExporterOTLP sends spans over OTLP/HTTP to the collector that the standard
	// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) names,
	// http://localhost:4318 by default; the exporter reads those variables itself.
	ExporterOTLP = "otlp"
)

// Exporters lists the values of OTEL_TRACES_EXPORTER, the default first.
var Exporters = []string{ExporterNone, ExporterStdout, ExporterOTLP}

// Option changes what Setup installs.
type Option func(*options)

type options struct {
	exporter   string
	stdout     io.Writer
	logger     *slog.Logger
	processors []sdktrace.SpanProcessor
}

// WithExporter selects the exporter by its OTEL_TRACES_EXPORTER name (one of
// Exporters; ExporterNone by default).
func WithExporter(name string) Option { return func(o *options) { o.exporter = name } }

// WithStdout is where ExporterStdout writes (os.Stdout by default).
func WithStdout(w io.Writer) Option { return func(o *options) { o.stdout = w } }

// WithLogger receives the errors of the tracing machinery itself, such as a
// collector that cannot be reached, which would otherwise go to the standard
// library's log as unstructured lines.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithSpanProcessor adds a processor besides the exporter's, such as a
// tracetest.SpanRecorder in a test.
func WithSpanProcessor(p sdktrace.SpanProcessor) Option {
	return func(o *options) { o.processors = append(o.processors, p) }
}

// Setup makes an SDK TracerProvider for serviceName the global one, with the
// exporter asked for, and the W3C TraceContext propagator the global
// propagator. The returned shutdown exports the spans still buffered and stops
// the exporter; call it once, as the process ends, with a bounded context.
//
// With ExporterNone the provider still samples and records: a no-op provider
// would make no ids, and request ids and log lines would have no trace to name.
// Sampling also keeps the sampled flag in the traceparent this system passes
// on, so a downstream system that does export is not told to drop the trace
// merely because this one keeps nothing. The cost is a span or two per request
// and per event, dropped as they end. The SDK reads OTEL_TRACES_SAMPLER,
// OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES and OTEL_BSP_* itself.
//
// The provider and the propagator are process-wide: a process runs one system.
func Setup(ctx context.Context, serviceName string, opts ...Option) (shutdown func(context.Context) error, err error) {
	o := options{exporter: ExporterNone, stdout: os.Stdout}
	for _, opt := range opts {
		opt(&o)
	}
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, read after the
	// attributes, win over them, as the specification wants.
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(serviceName)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	switch o.exporter {
	case ExporterNone:
	case ExporterStdout:
		exp, err := stdouttrace.New(stdouttrace.WithWriter(o.stdout))
		if err != nil {
			return nil, fmt.Errorf("telemetry: stdout exporter: %w", err)
		}
		tpOpts = append(tpOpts, sdktrace.WithBatcher(exp))
	case ExporterOTLP:
		// It dials nothing yet: a collector that is down costs failed exports,
		// reported through WithLogger, never the start-up.
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("telemetry: OTLP exporter: %w", err)
		}
		tpOpts = append(tpOpts, sdktrace.WithBatcher(exp))
	default:
		return nil, fmt.Errorf("telemetry: OTEL_TRACES_EXPORTER %q must be one of %s", o.exporter, strings.Join(Exporters, ", "))
	}
	for _, p := range o.processors {
		tpOpts = append(tpOpts, sdktrace.WithSpanProcessor(p))
	}
	tp := sdktrace.NewTracerProvider(tpOpts...)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	if o.logger != nil {
		logger := o.logger
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			logger.Warn("telemetry", "err", err)
		}))
	}
	return func(ctx context.Context) error {
		if err := tp.Shutdown(ctx); err != nil {
			return fmt.Errorf("telemetry: flush spans: %w", err)
		}
		return nil
	}, nil
}

// FlushTimeout bounds the export of the spans still buffered as a process ends.
const FlushTimeout = 5 * time.Second

// Flush calls shutdown, what Setup returned, as the process ends: within
// FlushTimeout of its own, past the end of ctx, because a collector that does
// not answer must not hold the exit up; and spans lost then are logged, no
// reason to fail the exit.
func Flush(ctx context.Context, shutdown func(context.Context) error, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), FlushTimeout)
	defer cancel()
	if err := shutdown(ctx); err != nil {
		logger.Warn("spans not exported", "err", err)
	}
}
