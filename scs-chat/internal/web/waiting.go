package web

import (
	"net/http"
	"time"

	"github.com/scs-platform/shared-events/httpkit/pages"
)

// waitingRefresh is how often the waiting page reloads without JavaScript; it
// must be well inside chat.Service.Grace, since each view is a sign of life.
const waitingRefresh = 5

// waiting serves GET /chat/waiting.
func (h *handlers) waiting(w http.ResponseWriter, r *http.Request) {
	id := user(r).UserID
	if _, err := h.chat.Seen(r.Context(), id); err != nil {
		h.unavailable(w, r, "seen", err)
		return
	}
	st, err := h.chat.Status(r.Context(), id)
	if err != nil {
		h.unavailable(w, r, "status", err)
		return
	}
	switch {
	case st.ConversationID != "":
		http.Redirect(w, r, conversationURL(st.ConversationID), http.StatusSeeOther)
		return
	case !st.Waiting:
		http.Redirect(w, r, "/chat/?done=expired", http.StatusSeeOther)
		return
	}
	p := withScript(page(r, "Waiting"), "live.js")
	p.Refresh, p.NoScriptOnly = waitingRefresh, true
	pages.Render(w, r, h.logger, http.StatusOK, waitingPage(WaitingView{Page: p, Since: st.WaitingSince, Now: time.Now(), RangeKm: st.RangeKm}))
}
