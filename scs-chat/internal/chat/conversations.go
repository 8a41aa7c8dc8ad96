package chat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/database/sqldb"
)

// Conversation is one match, as one of its members sees it.
type Conversation struct {
	ID         string
	PartnerID  string
	DistanceKm float64
	StartedAt  time.Time
	// EndedAt is zero while the conversation is active.
	EndedAt time.Time
	// EndedByMe says who left, once it has ended.
	EndedByMe bool
	// Messages is the number of messages (the last seq).
	Messages int64
}

// Active reports whether the conversation still runs.
func (c Conversation) Active() bool { return c.EndedAt.IsZero() }

const conversationColumns = `id, user_a, user_b, distance_km, started_at_us, ended_at_us, ended_by, last_seq`

func scanConversation(row interface{ Scan(...any) error }, viewer string) (Conversation, error) {
	var c Conversation
	var a, b string
	var started int64
	var ended sql.NullInt64
	var endedBy sql.NullString
	if err := row.Scan(&c.ID, &a, &b, &c.DistanceKm, &started, &ended, &endedBy, &c.Messages); err != nil {
		return Conversation{}, err
	}
	c.PartnerID = a
	if a == viewer {
		c.PartnerID = b
	}
	c.StartedAt = fromMicros(started)
	if ended.Valid {
		c.EndedAt = fromMicros(ended.Int64)
		c.EndedByMe = endedBy.String == viewer
	}
	return c, nil
}

// Conversation returns conversation id if userID is one of its members, and
// ErrNotFound otherwise: someone else's conversation does not exist for them.
func (s *Service) Conversation(ctx context.Context, userID, id string) (Conversation, error) {
	row := s.DB.QueryRowContext(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = $1 AND (user_a = $2 OR user_b = $2)`, id, userID)
	c, err := scanConversation(row, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return Conversation{}, ErrNotFound
	}
	if err != nil {
		return Conversation{}, fmt.Errorf("chat: conversation: %w", err)
	}
	return c, nil
}

// Conversations lists userID's conversations, newest first, at most limit.
func (s *Service) Conversations(ctx context.Context, userID string, limit int) ([]Conversation, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE user_a = $1
		UNION ALL SELECT `+conversationColumns+` FROM conversations WHERE user_b = $1
		ORDER BY started_at_us DESC, id DESC`+sqldb.Limit(limit), userID)
	if err != nil {
		return nil, fmt.Errorf("chat: conversations: %w", err)
	}
	defer rows.Close()
	var list []Conversation
	for rows.Next() {
		c, err := scanConversation(rows, userID)
		if err != nil {
			return nil, fmt.Errorf("chat: conversations: %w", err)
		}
		list = append(list, c)
	}
	return list, rows.Err()
}

// Leave ends userID's conversation id; the partner is told. Leaving an ended
// conversation is ErrEnded.
func (s *Service) Leave(ctx context.Context, userID, id string) error {
	var partner string
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		partner, err = s.end(ctx, tx, userID, id)
		return err
	})
	if err != nil {
		return err
	}
	s.Notify.Ended(ctx, partner, id)
	s.Notify.Ended(ctx, userID, id)
	return nil
}

// end ends conversation id on behalf of userID and returns the partner.
func (s *Service) end(ctx context.Context, tx *sql.Tx, userID, id string) (string, error) {
	c, err := scanConversation(tx.QueryRowContext(ctx, `SELECT `+conversationColumns+` FROM conversations
		WHERE id = $1 AND (user_a = $2 OR user_b = $2)`+s.DB.ForUpdate(), id, userID), userID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("chat: leave: %w", err)
	}
	if !c.Active() {
		return "", ErrEnded
	}
	if _, err := tx.ExecContext(ctx, `UPDATE conversations SET ended_at_us = $1, ended_by = $2 WHERE id = $3`, s.now().UnixMicro(), userID, id); err != nil {
		return "", fmt.Errorf("chat: leave: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM active_members WHERE conversation_id = $1`, id); err != nil {
		return "", fmt.Errorf("chat: leave: %w", err)
	}
	return c.PartnerID, nil
}

// Block makes sure userID and the partner of conversation id are never matched
// again, either way, and ends the conversation if it still runs.
func (s *Service) Block(ctx context.Context, userID, id string) error {
	c, err := s.Conversation(ctx, userID, id)
	if err != nil {
		return err
	}
	ended := false
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO blocks (blocker_id, blocked_id, created_at_us) VALUES ($1, $2, $3)
			ON CONFLICT (blocker_id, blocked_id) DO NOTHING`, userID, c.PartnerID, s.now().UnixMicro()); err != nil {
			return fmt.Errorf("chat: block: %w", err)
		}
		_, err := s.end(ctx, tx, userID, id)
		if errors.Is(err, ErrEnded) {
			return nil
		}
		ended = err == nil
		return err
	})
	if err != nil {
		return err
	}
	if ended {
		s.Notify.Ended(ctx, c.PartnerID, id)
		s.Notify.Ended(ctx, userID, id)
	}
	return nil
}

// ValidateReason checks a report's reason.
func ValidateReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	switch n := utf8.RuneCountInString(reason); {
	case n == 0:
		return "", &UserError{Field: "reason", Message: "Say what happened, in a few words."}
	case n > contracts.ReportMaxReasonLength:
		return "", &UserError{Field: "reason", Message: fmt.Sprintf("The reason can be at most %d characters; it has %d.", contracts.ReportMaxReasonLength, n)}
	case !printable(reason, true):
		return "", &UserError{Field: "reason", Message: "The reason holds characters that are not text."}
	}
	if err := disguising("reason", "reason", reason); err != nil {
		return "", err
	}
	return reason, nil
}

// Report files a report by userID about the partner of conversation id, and
// publishes it (chat.report.filed.v1) for scs-users' moderators in the same
// transaction. The conversation goes on; the reporter may leave or block too.
func (s *Service) Report(ctx context.Context, userID, id, reason string) (string, error) {
	reason, err := ValidateReason(reason)
	if err != nil {
		return "", err
	}
	c, err := s.Conversation(ctx, userID, id)
	if err != nil {
		return "", err
	}
	now := s.now()
	p := contracts.ReportFiledV1{
		ReportID:       uuid.Must(uuid.NewV7()).String(),
		ReporterID:     userID,
		ReportedUserID: c.PartnerID,
		ConversationID: id,
		Reason:         reason,
		ReportedAt:     now.UTC(),
	}
	ev, err := contracts.NewEvent(p, 1)
	if err != nil {
		return "", fmt.Errorf("chat: report: %w", err)
	}
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO reports (id, reporter_id, reported_id, conversation_id, reason, reported_at_us)
			VALUES ($1, $2, $3, $4, $5, $6)`, p.ReportID, userID, c.PartnerID, id, reason, now.UnixMicro()); err != nil {
			return fmt.Errorf("chat: report: %w", err)
		}
		return s.Outbox.Append(ctx, tx, ev)
	})
	if err != nil {
		return "", err
	}
	return p.ReportID, nil
}
