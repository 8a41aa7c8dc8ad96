package web

import (
	"net/http"

	"github.com/scs-platform/shared-events/httpkit/pages"
)

// start serves GET /chat/: the form to join the waiting room, or the way back
// to where the user already is.
func (h *handlers) start(w http.ResponseWriter, r *http.Request) {
	st, err := h.chat.Status(r.Context(), user(r).UserID)
	if err != nil {
		h.unavailable(w, r, "status", err)
		return
	}
	switch {
	case st.ConversationID != "":
		http.Redirect(w, r, conversationURL(st.ConversationID), http.StatusSeeOther)
	case st.Waiting:
		http.Redirect(w, r, "/chat/waiting", http.StatusSeeOther)
	default:
		h.startForm(w, r, http.StatusOK, joinForm{Range: "5"})
	}
}

// joinForm is what the user typed into the start form.
type joinForm struct {
	Lat, Lon, Range string
	Errors          map[string]string
}

func (h *handlers) startForm(w http.ResponseWriter, r *http.Request, status int, f joinForm) {
	pages.Render(w, r, h.logger, status, startPage(StartView{Page: withScript(page(r, "WhisperChat"), "start.js"), Form: f}))
}

func withScript(p Page, script string) Page {
	p.Script = script
	return p
}
