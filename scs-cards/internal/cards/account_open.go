package cards

import (
	"context"
	"database/sql"

	"github.com/scs-platform/shared-events/contracts"

	"github.com/scs-platform/scs-cards/internal/ledger"
)

// OpenAccount opens userID's card account, named name, with the default limit
// and currency, and issues its first card, a physical one. A user has one
// account at most (ledger.ErrHasAccount).
func (s *Service) OpenAccount(ctx context.Context, userID, name string) (ledger.Account, error) {
	name, err := ledger.AccountName(name)
	if err != nil {
		return ledger.Account{}, err
	}
	now := s.Ledger.Clock()
	var a ledger.Account
	err = s.inTx(ctx, "open an account", func(tx *sql.Tx) error {
		var err error
		if a, err = s.Ledger.Open(ctx, tx, userID, name, now); err != nil {
			return err
		}
		_, err = s.issueCard(ctx, tx, a, contracts.CardPhysical, now)
		return err
	})
	if err != nil {
		return ledger.Account{}, err
	}
	return a, nil
}
