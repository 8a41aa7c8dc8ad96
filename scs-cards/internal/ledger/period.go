package ledger

import (
	"fmt"
	"time"
)

// Period is the statement period: calendar months in UTC, or (for demos and
// tests) a fixed duration counted from the Unix epoch.
type Period struct {
	// Every is the fixed length; zero means calendar months.
	Every time.Duration
}

// Monthly is the period of calendar months, the default.
var Monthly = Period{}

// MinPeriod is the shortest fixed period.
const MinPeriod = time.Second

// ParsePeriod reads "monthly" or a duration such as "10s" (at least MinPeriod).
func ParsePeriod(s string) (Period, error) {
	if s == "monthly" {
		return Monthly, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < MinPeriod {
		return Period{}, fmt.Errorf("must be monthly, or a duration of at least %s such as 30s", MinPeriod)
	}
	return Period{Every: d}, nil
}

// String is what ParsePeriod reads back.
func (p Period) String() string {
	if p.Every == 0 {
		return "monthly"
	}
	return p.Every.String()
}

// Start returns the start of the period t falls in.
func (p Period) Start(t time.Time) time.Time {
	t = t.UTC()
	if p.Every == 0 {
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return time.UnixMicro(t.UnixMicro() - t.UnixMicro()%p.Every.Microseconds()).UTC()
}

// Next returns the start of the period after the one that starts at start.
func (p Period) Next(start time.Time) time.Time {
	if p.Every == 0 {
		return start.AddDate(0, 1, 0)
	}
	return start.Add(p.Every)
}

// DueDate is the due-date rule: a statement is due dueDays days after the
// day its period ends (the end is exclusive, so a March statement, ending at
// the start of April 1, is due on April 26 with 25 days).
func DueDate(periodEnd time.Time, dueDays int) string {
	end := periodEnd.UTC()
	day := time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, time.UTC)
	return day.AddDate(0, 0, dueDays).Format(time.DateOnly)
}
