package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/scs-platform/scs-chat/internal/chat"
	"github.com/scs-platform/scs-chat/internal/matching"
)

// join serves POST /chat/join.
func (h *handlers) join(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	f := joinForm{Lat: r.PostFormValue("lat"), Lon: r.PostFormValue("lon"), Range: r.PostFormValue("range"), Errors: map[string]string{}}
	at, rangeKm := matching.Point{}, 0.0
	at.Lat = parseNumber(f.Lat, "lat", "Latitude", f.Errors)
	at.Lon = parseNumber(f.Lon, "lon", "Longitude", f.Errors)
	rangeKm = parseNumber(f.Range, "range", "The range", f.Errors)
	if len(f.Errors) == 0 {
		if err := chat.ValidateJoin(at, rangeKm); err != nil {
			ue, _ := errors.AsType[*chat.UserError](err)
			f.Errors[ue.Field] = ue.Message
		}
	}
	if len(f.Errors) > 0 {
		h.startForm(w, r, http.StatusBadRequest, f)
		return
	}
	joined, err := h.chat.Join(r.Context(), user(r).UserID, at, rangeKm)
	if err != nil {
		h.failed(w, r, "join", err)
		return
	}
	if joined.ConversationID != "" {
		http.Redirect(w, r, conversationURL(joined.ConversationID), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/chat/waiting", http.StatusSeeOther)
}

// parseNumber reads a decimal number typed by a person: a comma as the decimal
// mark is fine; anything else that is not a finite number is an error for name.
func parseNumber(s, name, label string, errs map[string]string) float64 {
	s = strings.TrimSpace(s)
	if s == "" {
		errs[name] = label + " is missing."
		return 0
	}
	if strings.Count(s, ",") == 1 && !strings.Contains(s, ".") {
		s = strings.Replace(s, ",", ".", 1)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || len(s) > 32 || strings.ContainsAny(s, "xXpPnNiI_") {
		errs[name] = label + " must be a number, such as 52.52."
		return 0
	}
	return v
}
