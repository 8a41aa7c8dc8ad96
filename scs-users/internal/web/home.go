package web

import (
	"net/http"

	"github.com/scs-platform/shared-events/httpkit/pages"
)

// home serves GET /users/: the account page for a logged-in user, a welcome
// for anyone else.
func (h *handlers) home(w http.ResponseWriter, r *http.Request) {
	v, ok := viewerFrom(r.Context())
	if ok {
		http.Redirect(w, r, "/users/account", http.StatusSeeOther)
		return
	}
	p := page("Account", v)
	p.Done = doneMessage(r)
	pages.Render(w, r, h.logger, http.StatusOK, homePage(HomeView{Page: p}))
}
