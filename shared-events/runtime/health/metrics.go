package health

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/scs-platform/shared-events/runtime/telemetry"
)

// NewRegistry returns a registry for one process holding the process and Go
// runtime collectors and every collector given (the outbox, the relay, the
// consumers, the request durations). A registry per process, rather than the
// global default, keeps tests that start several systems in one process apart.
func NewRegistry(cs ...prometheus.Collector) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	cs = append([]prometheus.Collector{
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
	}, cs...)
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// Metrics serves reg in the Prometheus text format.
func Metrics(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// RequestDurations is the HTTP latency histogram of one process, by route
// pattern, method and status. It is a prometheus.Collector.
type RequestDurations struct {
	hist  *prometheus.HistogramVec
	route func(*http.Request) string
}

// NewRequestDurations returns the histogram. route names the pattern a request
// matched (for chi: chi.RouteContext(r.Context()).RoutePattern()); it is asked
// after the request has been served, when the router has filled it in. Requests
// that matched no route share the label "unmatched", so that scanners probing
// random paths cannot blow up the number of series.
func NewRequestDurations(route func(*http.Request) string) *RequestDurations {
	return &RequestDurations{
		route: route,
		hist: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by route pattern, method and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
	}
}

// Describe implements prometheus.Collector.
func (d *RequestDurations) Describe(ch chan<- *prometheus.Desc) { d.hist.Describe(ch) }

// Collect implements prometheus.Collector.
func (d *RequestDurations) Collect(ch chan<- prometheus.Metric) { d.hist.Collect(ch) }

// Middleware observes every request that passes through it. It also names the
// request's server span (see telemetry.Handler) by the route: this is where,
// inside the router, the route is known.
func (d *RequestDurations) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := d.route(r)
		telemetry.SetRoute(r.Context(), r.Method, route)
		if route == "" {
			route = "unmatched"
		}
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		method := r.Method
		switch method {
		case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		default:
			method = "other"
		}
		d.hist.WithLabelValues(route, method, strconv.Itoa(status)).Observe(time.Since(start).Seconds())
	})
}

// statusWriter remembers the status code. It passes Flush and Hijack through
// (server-sent events and websockets need them) and unwraps for
// http.ResponseController.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("health: the response writer cannot be hijacked")
	}
	if w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return h.Hijack()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
