package web

import (
	"errors"
	"net/http"

	"github.com/scs-platform/shared-events/authn"

	"github.com/scs-platform/scs-cards/internal/cards"
)

// summaryFragment is the card account's summary for scs-users' account page,
// which a script there fetches and transcludes (with a plain link to /cards/
// when this does not answer in time). It has no layout, never redirects, and
// may be cached by the browser for a short while: it is the user's own, so
// privately, and varies with the session cookie.
func (h *handlers) summaryFragment(gate *authn.Gate) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Cookie")
		p, err := gate.Check(r)
		switch {
		case err != nil && authn.Refused(err) && !authn.Lagging(err):
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "Log in to see your card account.", http.StatusUnauthorized)
			return
		case err != nil:
			// The replica lags or cannot be asked: the link will do for now.
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Retry-After", "1")
			http.Error(w, "The card account cannot be shown just now.", http.StatusServiceUnavailable)
			return
		}
		o, err := h.cards.Overview(r.Context(), p.UserID, 0, 1)
		v := FragmentView{}
		switch {
		case errors.Is(err, cards.ErrNoAccount):
		case err != nil:
			h.logger.Error("summary fragment", "err", err)
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "The card account cannot be shown just now.", http.StatusServiceUnavailable)
			return
		default:
			v.Overview = &o
		}
		w.Header().Set("Cache-Control", "private, max-age=15")
		render(w, r, h.logger, http.StatusOK, summaryFragment(v))
	}
}
