package moderation

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/eventing/consumer"
)

// scs-users' reactions: what it does when another system's event arrives.
// Only scs-chat's reports concern it; the chat consumer (users.from-chat)
// applies them with Handlers. What happens when a user is reported in chat:
// the report joins the moderation queue here, in the consumer's transaction
// (reportFiled), for an admin to dismiss it or ban the user (Service.Dismiss,
// Service.BanReported). A ban is scs-users' own decision, published as
// users.user.updated.v1, to which chat and cards react in turn.

// Handlers are scs-users' reactions to scs-chat's events, for the consumer of
// users.from-chat.
func Handlers() map[string]consumer.Handler {
	return map[string]consumer.Handler{
		contracts.TypeReportFiledV1: reportFiled,
	}
}

// reportFiled puts a report in the queue. The consumer's inbox already runs it
// once per event; the report id keeps it at one row even if chat filed the
// same report twice under two event ids.
func reportFiled(ctx context.Context, tx *sql.Tx, ev cloudevent.Event) error {
	p, err := contracts.Decode[contracts.ReportFiledV1](ev)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO reports (id, reporter_id, reported_user_id, conversation_id, reason,
		reported_at_us, received_at_us, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'open') ON CONFLICT (id) DO NOTHING`,
		p.ReportID, p.ReporterID, p.ReportedUserID, p.ConversationID, p.Reason, p.ReportedAt.UnixMicro(), time.Now().UnixMicro())
	if err != nil {
		return fmt.Errorf("moderation: store report %s: %w", p.ReportID, err)
	}
	return nil
}
