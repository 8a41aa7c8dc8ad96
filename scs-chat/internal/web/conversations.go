package web

import (
	"net/http"

	"github.com/scs-platform/shared-events/httpkit/pages"
)

// conversations serves GET /chat/conversations.
func (h *handlers) conversations(w http.ResponseWriter, r *http.Request) {
	me := user(r).UserID
	list, err := h.chat.Conversations(r.Context(), me, 100)
	if err != nil {
		h.unavailable(w, r, "conversations", err)
		return
	}
	rows := make([]ConversationRow, 0, len(list))
	for _, c := range list {
		name, err := h.partnerName(r.Context(), c.PartnerID)
		if err != nil {
			h.unavailable(w, r, "partner", err)
			return
		}
		rows = append(rows, ConversationRow{Conversation: c, Partner: name})
	}
	pages.Render(w, r, h.logger, http.StatusOK, conversationsPage(ConversationsView{Page: page(r, "My conversations"), Rows: rows}))
}
