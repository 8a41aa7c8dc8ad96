// Package moderation is the queue of reports that admins work: users reported
// in scs-chat arrive as chat.report.filed.v1 events (the reaction, in
// reactions.go), and an admin dismisses a report or bans the reported user.
package moderation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/database/sqldb"

	"github.com/scs-platform/scs-users/internal/accounts"
)

// Report is a report about a user, as an admin sees it.
type Report struct {
	ID             string
	ReporterID     string
	ReporterName   string // "" when the reporter is unknown here or deleted
	ReportedID     string
	ReportedName   string
	ReportedEmail  string
	ReportedStatus contracts.Status // "" when the reported user is unknown here
	ConversationID string
	Reason         string
	ReportedAt     time.Time
	Status         string // "open", "dismissed" or "banned"
}

// Service is the moderation queue.
type Service struct {
	DB       *sqldb.DB
	Accounts *accounts.Service
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

const reportColumns = `r.id, r.reporter_id, COALESCE(a.display_name, ''), r.reported_user_id, COALESCE(u.display_name, ''),
	COALESCE(u.email, ''), COALESCE(u.status, ''), r.conversation_id, r.reason, r.reported_at_us, r.status
	FROM reports r LEFT JOIN users u ON u.id = r.reported_user_id LEFT JOIN users a ON a.id = r.reporter_id`

func scanReports(rows *sql.Rows, err error) ([]Report, error) {
	if err != nil {
		return nil, fmt.Errorf("moderation: read reports: %w", err)
	}
	defer rows.Close()
	var out []Report
	for rows.Next() {
		var r Report
		var status string
		var at int64
		if err := rows.Scan(&r.ID, &r.ReporterID, &r.ReporterName, &r.ReportedID, &r.ReportedName, &r.ReportedEmail,
			&status, &r.ConversationID, &r.Reason, &at, &r.Status); err != nil {
			return nil, fmt.Errorf("moderation: read reports: %w", err)
		}
		r.ReportedStatus, r.ReportedAt = contracts.Status(status), time.UnixMicro(at).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// Open returns up to limit open reports, the oldest first: the queue.
func (s *Service) Open(ctx context.Context, limit int) ([]Report, error) {
	return scanReports(s.DB.QueryContext(ctx, `SELECT `+reportColumns+` WHERE r.status = 'open' ORDER BY r.reported_at_us, r.id`+sqldb.Limit(limit)))
}

// About returns the reports about a user, the latest first.
func (s *Service) About(ctx context.Context, userID string, limit int) ([]Report, error) {
	return scanReports(s.DB.QueryContext(ctx, `SELECT `+reportColumns+` WHERE r.reported_user_id = $1 ORDER BY r.reported_at_us DESC, r.id`+sqldb.Limit(limit),
		userID))
}

// ErrResolved is a report that is no longer open: another admin was quicker.
var ErrResolved = errors.New("this report has already been dealt with")

// Dismiss closes an open report without action.
func (s *Service) Dismiss(ctx context.Context, actorID, reportID string) error {
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		return s.resolve(ctx, tx, actorID, reportID, "dismissed")
	})
}

// BanReported bans the user a report is about, with reason, and closes the
// report together with every other open report about that user, in the ban's
// transaction.
func (s *Service) BanReported(ctx context.Context, actorID, reportID, reason string) error {
	var reported string
	err := s.DB.QueryRowContext(ctx, `SELECT reported_user_id FROM reports WHERE id = $1`, reportID).Scan(&reported)
	if errors.Is(err, sql.ErrNoRows) {
		return accounts.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("moderation: read report: %w", err)
	}
	return s.Accounts.Ban(ctx, actorID, reported, reason, func(tx *sql.Tx) error {
		if err := s.resolve(ctx, tx, actorID, reportID, "banned"); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE reports SET status = 'banned', resolved_by = $2, resolved_at_us = $3
			WHERE reported_user_id = $1 AND status = 'open'`, reported, actorID, s.now().UnixMicro())
		return err
	})
}

func (s *Service) resolve(ctx context.Context, tx *sql.Tx, actorID, reportID, status string) error {
	res, err := tx.ExecContext(ctx, `UPDATE reports SET status = $2, resolved_by = $3, resolved_at_us = $4 WHERE id = $1 AND status = 'open'`,
		reportID, status, actorID, s.now().UnixMicro())
	if err != nil {
		return fmt.Errorf("moderation: resolve report: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 1 {
		return nil
	}
	var exists int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM reports WHERE id = $1`, reportID).Scan(&exists); err != nil {
		return fmt.Errorf("moderation: read report: %w", err)
	}
	if exists == 0 {
		return accounts.ErrNotFound
	}
	return ErrResolved
}
