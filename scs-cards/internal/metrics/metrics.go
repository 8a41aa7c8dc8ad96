// Package metrics exposes scs-cards' own figures to Prometheus: what its
// terminal answered and how many statements it issued.
package metrics

import "github.com/prometheus/client_golang/prometheus"

// Terminal counts the authorisations an instance answered.
type Terminal interface {
	Authorisations() (approved, declined int64)
}

// Statements counts the statements an instance issued.
type Statements interface {
	StatementsIssued() int64
}

// Collector exposes the card figures to Prometheus.
type Collector struct {
	terminal       Terminal
	books          Statements
	authorisations *prometheus.Desc
	statements     *prometheus.Desc
}

// NewCollector returns the Collector of the terminal's and the books' figures.
func NewCollector(terminal Terminal, books Statements) *Collector {
	return &Collector{
		terminal:       terminal,
		books:          books,
		authorisations: prometheus.NewDesc("cards_authorisations_total", "Authorisations this instance answered, by outcome.", []string{"outcome"}, nil),
		statements:     prometheus.NewDesc("cards_statements_issued_total", "Statements this instance issued.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.authorisations
	ch <- c.statements
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	approved, declined := c.terminal.Authorisations()
	ch <- prometheus.MustNewConstMetric(c.authorisations, prometheus.CounterValue, float64(approved), "approved")
	ch <- prometheus.MustNewConstMetric(c.authorisations, prometheus.CounterValue, float64(declined), "declined")
	ch <- prometheus.MustNewConstMetric(c.statements, prometheus.CounterValue, float64(c.books.StatementsIssued()))
}
