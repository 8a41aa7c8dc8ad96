// Package jobs runs scs-cards' periodic work, each job living with what it
// acts on: the terminal's expiry of holds and its forgetting of old
// idempotency keys, and the ledger's closing of statement periods.
package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/scs-platform/scs-cards/internal/ledger"
	"github.com/scs-platform/scs-cards/internal/terminal"
)

// Runner runs the jobs. Set the fields.
type Runner struct {
	Terminal *terminal.Service
	Ledger   *ledger.Service
	Logger   *slog.Logger
}

// Run closes statement periods, expires authorisations and forgets old
// idempotency keys until ctx ends. Every instance runs it: the work is
// claimed row by row, so instances never do the same work twice.
func (r *Runner) Run(ctx context.Context) error {
	t := time.NewTicker(Interval(r.Ledger.Period))
	defer t.Stop()
	lastForget := time.Time{}
	for {
		if n, err := r.Terminal.ExpireAuthorisations(ctx); err != nil && ctx.Err() == nil {
			r.Logger.Warn("expire authorisations", "err", err)
		} else if n > 0 {
			r.Logger.Info("authorisations expired", "count", n)
		}
		if n, err := r.Ledger.CloseStatements(ctx); err != nil && ctx.Err() == nil {
			r.Logger.Warn("close statements", "err", err)
		} else if n > 0 {
			r.Logger.Info("statements issued", "count", n)
		}
		if time.Since(lastForget) > time.Hour {
			if _, err := r.Terminal.ForgetKeys(ctx); err != nil && ctx.Err() == nil {
				r.Logger.Warn("forget idempotency keys", "err", err)
			}
			lastForget = time.Now()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Interval is how often the jobs run for statement period p: a quarter of a
// fixed period, at most a minute, at least 100 ms.
func Interval(p ledger.Period) time.Duration {
	if p.Every == 0 {
		return time.Minute
	}
	return min(max(p.Every/4, 100*time.Millisecond), time.Minute)
}
