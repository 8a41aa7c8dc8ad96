package web

import (
	"context"
	"log/slog"
	"time"

	"github.com/scs-platform/shared-events/identity/usersreplica"

	"github.com/scs-platform/scs-chat/internal/chat"
	"github.com/scs-platform/scs-chat/internal/live"
)

// The instance's side of chat's reactions to users events (see
// internal/chat/reactions.go, which writes the access changes read here): a
// banned, deleted or logged-out user's websockets close, and the partner hears
// of it.

// accessPoll is how often an instance looks for users whose access changed.
// It adds at most this much to the replication lag of closing a banned user's
// websocket.
const accessPoll = 500 * time.Millisecond

// WatchAccess closes the websockets of users whose access changed (banned,
// deleted, logged out elsewhere, renamed) on this instance, and tells the
// partner of a conversation that such a change ended, until ctx ends. The
// pages reload on the close, and the gate then decides what the user sees:
// the page again (a rename shows), or the way to log in.
//
// The users consumer writes the changes (chat.Service.UsersHandlers); each
// instance reads them all, since any instance may hold the user's websockets.
// It starts after the change after, which the caller reads (LastAccessChange)
// before it serves any websocket, so that no change to a connected user is
// missed.
func WatchAccess(ctx context.Context, svc *chat.Service, hub *live.Hub, logger *slog.Logger, after int64) error {
	t := time.NewTicker(accessPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		changes, err := svc.AccessChanges(ctx, after)
		if err != nil {
			if ctx.Err() == nil {
				logger.Warn("read access changes", "err", err)
			}
			continue
		}
		for _, c := range changes {
			after = c.Seq
			if hub.Connections(c.UserID) > 0 {
				hub.CloseLocal(c.UserID, "your account changed; the page reloads")
			}
			if c.PartnerID != "" {
				_ = hub.DeliverLocal(c.PartnerID, live.Ended(c.ConversationID, "partner"))
			}
			tellPartner(ctx, svc, hub, c.UserID, logger)
		}
	}
}

// tellPartner sends the partner of userID's active conversation, if they are
// connected here, the name userID has now: a rename shows at once.
func tellPartner(ctx context.Context, svc *chat.Service, hub *live.Hub, userID string, logger *slog.Logger) {
	conversation, partner, err := svc.ActivePartner(ctx, userID)
	if err != nil || partner == "" || hub.Connections(partner) == 0 {
		if err != nil {
			logger.Warn("partner of a changed user", "user", userID, "err", err)
		}
		return
	}
	u, err := usersreplica.Store{DB: svc.DB}.User(ctx, userID)
	if err != nil || u.DisplayName == "" {
		return
	}
	_ = hub.DeliverLocal(partner, live.Renamed(conversation, u.DisplayName))
}
