package chat

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// RunSweeper ends stale waits every third of the grace period until ctx ends.
// Every instance runs it; they take turns under the matchmaking lock.
func (s *Service) RunSweeper(ctx context.Context) error {
	t := time.NewTicker(max(s.Grace/3, time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if n, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.Logger.Warn("sweep the waiting room", "err", err)
		} else if n > 0 {
			s.Logger.Info("waits ended without a sign of life", "count", n)
		}
	}
}

// counters are the Service's own figures for the metrics.
type counters struct {
	matches atomic.Int64
}

// Collector exposes the chat's figures to Prometheus.
type Collector struct {
	s       *Service
	matches *prometheus.Desc
	waiting *prometheus.Desc
}

// NewCollector returns the Collector of s.
func NewCollector(s *Service) *Collector {
	return &Collector{
		s:       s,
		matches: prometheus.NewDesc("chat_matches_total", "Matches made by this instance.", nil, nil),
		waiting: prometheus.NewDesc("chat_waiting_users", "Users in the waiting room (all instances).", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.matches
	ch <- c.waiting
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.matches, prometheus.CounterValue, float64(c.s.counters.matches.Load()))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if n, err := c.s.WaitingCount(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(n))
	}
}
