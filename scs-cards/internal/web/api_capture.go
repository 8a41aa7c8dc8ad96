package web

import (
	"net/http"

	"github.com/scs-platform/scs-cards/internal/money"
	"github.com/scs-platform/scs-cards/internal/terminal"
)

// captureBody is the JSON of a capture; an empty body captures all.
type captureBody struct {
	AmountMinor *int64 `json:"amount_minor"`
}

// parseCapture reads a capture: all of the authorised amount, or amount_minor of it.
func parseCapture(id string, body []byte) (terminal.CaptureRequest, *badRequest) {
	var b captureBody
	if bad := decodeJSON(body, &b, true); bad != nil {
		return terminal.CaptureRequest{}, bad
	}
	req := terminal.CaptureRequest{AuthorisationID: id}
	if b.AmountMinor != nil {
		if *b.AmountMinor < 1 || *b.AmountMinor > money.MaxMinor {
			return req, refused(http.StatusUnprocessableEntity, "invalid_field", "amount_minor",
				"amount_minor must be a whole number of minor units from 1 to the authorised amount; leave it out to capture all.")
		}
		req.Amount = *b.AmountMinor
	}
	return req, nil
}

// apiCapture answers POST /cards/api/v1/authorisations/{id}/capture.
func (h *handlers) apiCapture(w http.ResponseWriter, r *http.Request) {
	h.api(w, r, func(key string, body []byte) (terminal.Reply, *badRequest, error) {
		id, bad := authorisationID(r)
		if bad != nil {
			return terminal.Reply{}, bad, nil
		}
		req, bad := parseCapture(id, body)
		if bad != nil {
			return terminal.Reply{}, bad, nil
		}
		reply, err := h.merchant.Capture(r.Context(), terminalScope, key, req)
		return reply, nil, err
	})
}
