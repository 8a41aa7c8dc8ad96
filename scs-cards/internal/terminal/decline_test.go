package terminal

import (
	"testing"

	"github.com/scs-platform/shared-events/contracts"

	"github.com/scs-platform/scs-cards/internal/ledger"
)

// TestDeclineReason checks which reason wins when several hold at once.
func TestDeclineReason(t *testing.T) {
	for _, tc := range []struct {
		name     string
		account  string
		card     contracts.CardStatus
		currency string
		want     ledger.DeclineReason
	}{
		{"all in order: the credit did not suffice", "open", contracts.CardActive, "SEK", ledger.DeclineInsufficientCredit},
		{"another currency", "open", contracts.CardActive, "EUR", ledger.DeclineWrongCurrency},
		{"a frozen card before the currency", "open", contracts.CardFrozen, "EUR", ledger.DeclineCardFrozen},
		{"a cancelled card before a frozen one's reason", "open", contracts.CardCancelled, "EUR", ledger.DeclineCardCancelled},
		{"a closed account before everything", "closed", contracts.CardCancelled, "EUR", ledger.DeclineAccountClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := declineReason(tc.account, tc.card, tc.currency, "SEK"); got != tc.want {
				t.Errorf("declineReason(%q, %q, %q, SEK) = %q, want %q", tc.account, tc.card, tc.currency, got, tc.want)
			}
		})
	}
}
