package web

import (
	"net/http"

	"github.com/scs-platform/scs-cards/internal/terminal"
)

// apiForcedPosting answers POST /cards/api/v1/forced-postings: a purchase posted without an authorisation.
func (h *handlers) apiForcedPosting(w http.ResponseWriter, r *http.Request) {
	h.api(w, r, func(key string, body []byte) (terminal.Reply, *badRequest, error) {
		req, bad := parseAuthorise(body)
		if bad != nil {
			return terminal.Reply{}, bad, nil
		}
		reply, err := h.merchant.ForcedPosting(r.Context(), terminalScope, key, terminal.ForcedPostingRequest(req))
		return reply, nil, err
	})
}
