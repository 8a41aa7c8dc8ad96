// Package migrations holds scs-users' own schema, one numbered, append-only set
// per dialect: sqlite/0001_*.sql, postgres/0001_*.sql, and so on. The outbox
// table comes from shared-events and is migrated separately.
package migrations

import "embed"

// FS holds sqlite/NNNN_*.sql and postgres/NNNN_*.sql. The "all:" prefix embeds
// the .gitkeep files too, so that the set may be empty.
//
//go:embed all:sqlite all:postgres
var FS embed.FS
