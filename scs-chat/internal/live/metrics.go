package live

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are plain atomics, read when Prometheus collects: the hot paths
// (every frame) then cost one atomic add.
type metrics struct {
	connections      atomic.Int64
	framesIn         atomic.Uint64
	framesOut        atomic.Uint64
	slowDisconnects  atomic.Uint64
	droppedPublishes atomic.Uint64
	published        atomic.Uint64
	remoteFrames     atomic.Uint64
	forged           atomic.Uint64
}

var (
	connectionsDesc = prometheus.NewDesc("chat_live_connections",
		"Open websocket connections on this instance.", nil, nil)
	framesInDesc = prometheus.NewDesc("chat_live_frames_received_total",
		"Frames received from clients.", nil, nil)
	framesOutDesc = prometheus.NewDesc("chat_live_frames_sent_total",
		"Frames written to clients.", nil, nil)
	slowDisconnectsDesc = prometheus.NewDesc("chat_live_slow_client_disconnects_total",
		"Connections ended because the client did not read fast enough.", nil, nil)
	droppedPublishesDesc = prometheus.NewDesc("chat_live_dropped_publishes_total",
		"Frames delivered on this instance only, because the broker could not take them.", nil, nil)
	publishedDesc = prometheus.NewDesc("chat_live_published_total",
		"Publications sent to the other instances.", nil, nil)
	remoteFramesDesc = prometheus.NewDesc("chat_live_remote_frames_total",
		"Frames received from other instances for local delivery.", nil, nil)
	forgedDesc = prometheus.NewDesc("chat_live_refused_publications_total",
		"Publications on the fan-out exchange that no instance of scs-chat made (no or a wrong MAC), or replayed (old, or seen before), dropped.", nil, nil)
)

// Describe implements prometheus.Collector.
func (h *Hub) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{connectionsDesc, framesInDesc, framesOutDesc, slowDisconnectsDesc, droppedPublishesDesc, publishedDesc, remoteFramesDesc, forgedDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (h *Hub) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(connectionsDesc, prometheus.GaugeValue, float64(h.m.connections.Load()))
	counter := func(d *prometheus.Desc, v *atomic.Uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v.Load()))
	}
	counter(framesInDesc, &h.m.framesIn)
	counter(framesOutDesc, &h.m.framesOut)
	counter(slowDisconnectsDesc, &h.m.slowDisconnects)
	counter(droppedPublishesDesc, &h.m.droppedPublishes)
	counter(publishedDesc, &h.m.published)
	counter(remoteFramesDesc, &h.m.remoteFrames)
	counter(forgedDesc, &h.m.forged)
}
