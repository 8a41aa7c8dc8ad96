package web

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/httpkit/pages"
	"github.com/scs-platform/shared-events/identity/authn"
)

// historyShown is how many of the latest messages the page shows.
const historyShown = 200

// conversationForms is what the user typed into the conversation's forms, kept
// across an error.
type conversationForms struct {
	Text, Reason string
	Errors       map[string]string
}

// conversation serves GET /chat/conversations/{id}.
func (h *handlers) conversation(w http.ResponseWriter, r *http.Request) {
	h.conversationPage(w, r, http.StatusOK, conversationForms{})
}

func (h *handlers) conversationPage(w http.ResponseWriter, r *http.Request, status int, f conversationForms) {
	me := user(r).UserID
	c, err := h.chat.Conversation(r.Context(), me, chi.URLParam(r, "id"))
	if err != nil {
		h.failed(w, r, "conversation", err)
		return
	}
	msgs, err := h.chat.Since(r.Context(), me, c.ID, max(0, c.Messages-historyShown), historyShown)
	if err != nil {
		h.failed(w, r, "messages", err)
		return
	}
	partner, err := h.partnerName(r.Context(), c.PartnerID)
	if err != nil {
		h.unavailable(w, r, "partner", err)
		return
	}
	v := ConversationView{
		Page:         page(r, "Chat with "+partner),
		Conversation: c,
		Partner:      partner,
		Me:           me,
		Messages:     msgs,
		Distance:     aboutDistance(c.DistanceKm),
		ClientID:     rand.Text(),
		Forms:        f,
	}
	if c.Active() {
		v.Page.Script = "live.js"
	}
	pages.Render(w, r, h.logger, status, conversationPage(v))
}

// partnerName is the partner's display name from the users replica, so that a
// rename shows at the next page view.
func (h *handlers) partnerName(ctx context.Context, id string) (string, error) {
	u, err := h.users.User(ctx, id)
	switch {
	case err == nil && u.Status == contracts.StatusDeleted:
		return "someone who deleted their account", nil
	case err == nil:
		return u.DisplayName, nil
	case errors.Is(err, authn.ErrUnknownUser):
		return "someone", nil
	default:
		return "", err
	}
}

// aboutDistance says a distance without giving away a location: rounded to a
// kilometre below 10 km, to 5 km below 100 km, to 10 km beyond.
func aboutDistance(km float64) string {
	switch {
	case km < 1:
		return "less than 1 km away"
	case km < 10:
		return fmt.Sprintf("about %.0f km away", math.Round(km))
	case km < 100:
		return fmt.Sprintf("about %.0f km away", math.Round(km/5)*5)
	default:
		return fmt.Sprintf("about %.0f km away", math.Round(km/10)*10)
	}
}

func conversationURL(id string) string { return "/chat/conversations/" + id }
