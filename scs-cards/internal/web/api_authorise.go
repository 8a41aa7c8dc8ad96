package web

import (
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/scs-platform/scs-cards/internal/money"
	"github.com/scs-platform/scs-cards/internal/terminal"
	"github.com/scs-platform/shared-events/contracts"
)

// authoriseBody is the JSON of an authorisation or a forced posting.
type authoriseBody struct {
	CardID      string `json:"card_id"`
	AmountMinor int64  `json:"amount_minor"`
	Currency    string `json:"currency"`
	Merchant    string `json:"merchant"`
}

// parseAuthorise reads and checks a purchase: a card id, an amount in minor
// units from 1 to money.MaxMinor, a known currency, a merchant name.
func parseAuthorise(body []byte) (terminal.AuthoriseRequest, *badRequest) {
	var b authoriseBody
	if bad := decodeJSON(body, &b, false); bad != nil {
		return terminal.AuthoriseRequest{}, bad
	}
	if b.CardID == "" {
		return terminal.AuthoriseRequest{}, refused(http.StatusUnprocessableEntity, "invalid_field", "card_id", "card_id is required: the card's id.")
	}
	if !isUUID(b.CardID) {
		return terminal.AuthoriseRequest{}, refused(http.StatusUnprocessableEntity, "invalid_field", "card_id", "card_id must be a card's id, a UUID such as 0192f3a4-5b6c-7d8e-9f01-23456789abcd.")
	}
	if b.AmountMinor < 1 || b.AmountMinor > money.MaxMinor {
		return terminal.AuthoriseRequest{}, refused(http.StatusUnprocessableEntity, "invalid_field", "amount_minor",
			"amount_minor must be a whole number of minor units (cents, öre) from 1 to %d.", int64(money.MaxMinor))
	}
	if b.Currency == "" {
		return terminal.AuthoriseRequest{}, refused(http.StatusUnprocessableEntity, "invalid_field", "currency", "currency is required: an ISO 4217 code such as SEK.")
	}
	c, err := money.ParseCurrency(b.Currency)
	if err != nil || string(c) != b.Currency {
		return terminal.AuthoriseRequest{}, refused(http.StatusUnprocessableEntity, "invalid_field", "currency",
			"currency must be an ISO 4217 code in capitals, such as SEK or EUR; %s is not one.", jsonQuote(b.Currency))
	}
	merchant, bad := checkMerchant(b.Merchant)
	if bad != nil {
		return terminal.AuthoriseRequest{}, bad
	}
	return terminal.AuthoriseRequest{CardID: strings.ToLower(b.CardID), Amount: money.Amount{Minor: b.AmountMinor, Currency: c}, Merchant: merchant}, nil
}

func checkMerchant(m string) (string, *badRequest) {
	m = strings.TrimSpace(m)
	n := utf8.RuneCountInString(m)
	switch {
	case n == 0:
		return "", refused(http.StatusUnprocessableEntity, "invalid_field", "merchant", "merchant is required: the name the holder sees on the statement.")
	case n > terminal.MaxMerchant:
		return "", refused(http.StatusUnprocessableEntity, "invalid_field", "merchant", "merchant may have at most %d characters; this one has %d.", terminal.MaxMerchant, n)
	case strings.ContainsFunc(m, unicode.IsControl):
		return "", refused(http.StatusUnprocessableEntity, "invalid_field", "merchant", "merchant may not hold control characters such as line breaks.")
	}
	// The holder reads it on the card's history and the statement: an
	// invisible override would show a name the terminal did not send.
	if r, found := contracts.DisguisingCharacter(m); found {
		return "", refused(http.StatusUnprocessableEntity, "invalid_field", "merchant",
			"The merchant name contains an invisible character that reverses text direction (%U); remove it.", r)
	}
	return m, nil
}

// apiAuthorise answers POST /cards/api/v1/authorisations: a purchase to authorise.
func (h *handlers) apiAuthorise(w http.ResponseWriter, r *http.Request) {
	h.api(w, r, func(key string, body []byte) (terminal.Reply, *badRequest, error) {
		req, bad := parseAuthorise(body)
		if bad != nil {
			return terminal.Reply{}, bad, nil
		}
		reply, err := h.merchant.Authorise(r.Context(), terminalScope, key, req)
		return reply, nil, err
	})
}
