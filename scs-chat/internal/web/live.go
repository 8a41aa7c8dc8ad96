package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/scs-platform/scs-chat/internal/chat"
)

// live serves GET /chat/live, the websocket of the waiting page (no query) and
// of a conversation page (?conversation=ID). While it is open on the waiting
// page it is the waiting user's sign of life; once it closes, the wait ends
// after the grace period unless the page comes back.
func (h *handlers) live(w http.ResponseWriter, r *http.Request) {
	me := user(r).UserID
	id := r.URL.Query().Get("conversation")
	if id != "" {
		if _, err := h.chat.Conversation(r.Context(), me, id); err != nil {
			if errors.Is(err, chat.ErrNotFound) {
				http.Error(w, "There is no such conversation, or it is not yours.", http.StatusNotFound)
				return
			}
			http.Error(w, "Something went wrong on our side. Please try again in a moment.", http.StatusServiceUnavailable)
			return
		}
	}
	// The server's base context ends at shutdown; the request's would end as
	// soon as this handler returns, which it does while the connection lives on.
	stop := func() {}
	if id == "" {
		stop = h.heartbeat(me)
	}
	err := h.hub.Start(h.shutdown, w, r, me, func(err error) {
		stop()
		if err != nil {
			h.logger.DebugContext(r.Context(), "websocket", "user", me, "err", err)
		}
	})
	if err != nil {
		stop()
		h.logger.DebugContext(r.Context(), "websocket refused", "user", me, "err", err)
	}
}

// heartbeat marks userID seen now and then until stop is called.
func (h *handlers) heartbeat(userID string) (stop func()) {
	ctx, cancel := context.WithCancel(h.shutdown)
	every := h.chat.Grace / 3
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if _, err := h.chat.Seen(ctx, userID); err != nil && ctx.Err() == nil {
				h.logger.Warn("waiting heartbeat", "user", userID, "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return cancel
}
