// Package migrations holds scs-chat's own schema, one numbered, append-only set
// per dialect. The outbox, inbox and users replica tables come from
// shared-events and are migrated separately.
package migrations

import "embed"

// FS holds sqlite/NNNN_*.sql and postgres/NNNN_*.sql. The "all:" prefix embeds
// the .gitkeep files too, so that the set may be empty.
//
//go:embed all:sqlite all:postgres
var FS embed.FS
