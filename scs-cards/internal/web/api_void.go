package web

import (
	"net/http"

	"github.com/scs-platform/scs-cards/internal/terminal"
)

// parseVoid reads a void: an empty body, or an empty object.
func parseVoid(id string, body []byte) (terminal.VoidRequest, *badRequest) {
	var b struct{}
	if bad := decodeJSON(body, &b, true); bad != nil {
		return terminal.VoidRequest{}, bad
	}
	return terminal.VoidRequest{AuthorisationID: id}, nil
}

// apiVoid answers POST /cards/api/v1/authorisations/{id}/void.
func (h *handlers) apiVoid(w http.ResponseWriter, r *http.Request) {
	h.api(w, r, func(key string, body []byte) (terminal.Reply, *badRequest, error) {
		id, bad := authorisationID(r)
		if bad != nil {
			return terminal.Reply{}, bad, nil
		}
		req, bad := parseVoid(id, body)
		if bad != nil {
			return terminal.Reply{}, bad, nil
		}
		reply, err := h.merchant.Void(r.Context(), terminalScope, key, req)
		return reply, nil, err
	})
}
