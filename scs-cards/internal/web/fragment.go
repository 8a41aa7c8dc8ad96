package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"

	"github.com/scs-platform/scs-cards/internal/ledger"
	"github.com/scs-platform/shared-events/identity/authn"
)

// summaryFragment is the card account's summary for scs-users' account page,
// which a script there fetches and transcludes (with a plain link to /cards/
// when this does not answer in time). It has no layout and never redirects.
//
// The browser may keep it, privately (it is the user's own), but asks again
// each time with the ETag it holds and gets a bodiless 304 while nothing
// changed: with a max-age instead, the account page showed "no card yet" for a
// while after the account was opened.
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
		case errors.Is(err, ledger.ErrNoAccount):
		case err != nil:
			h.logger.ErrorContext(r.Context(), "summary fragment", "err", err)
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "The card account cannot be shown just now.", http.StatusServiceUnavailable)
			return
		default:
			v.Overview = &o
		}
		var buf bytes.Buffer
		if err := summaryFragment(v).Render(r.Context(), &buf); err != nil {
			h.logger.ErrorContext(r.Context(), "render the summary fragment", "err", err)
			http.Error(w, "The card account cannot be shown just now.", http.StatusInternalServerError)
			return
		}
		sum := sha256.Sum256(buf.Bytes())
		etag := `"` + hex.EncodeToString(sum[:12]) + `"`
		w.Header().Set("Cache-Control", "private, no-cache")
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = buf.WriteTo(w)
	}
}
