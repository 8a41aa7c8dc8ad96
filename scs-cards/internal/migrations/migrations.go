// Package migrations holds scs-cards' own schema, one numbered, append-only set
// per dialect. The outbox and inbox tables come from shared-events and are
// migrated separately.
package migrations

import "embed"

// FS holds sqlite/NNNN_*.sql and postgres/NNNN_*.sql.
//
//go:embed sqlite postgres
var FS embed.FS
