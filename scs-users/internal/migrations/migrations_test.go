package migrations_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/scs-users/internal/migrations"
)

// TestDialectsAgree migrates scs-users' whole schema on SQLite and on
// PostgreSQL and compares them: the same tables, the same columns, the same
// kinds of value and the same NOT NULLs. The store suites cannot see a column
// that one dialect lets be NULL by mistake.
func TestDialectsAgree(t *testing.T) {
	sqlite := schema(t, servicetest.SQLite(t))
	postgres := schema(t, servicetest.Postgres(t))
	if strings.Join(sqlite, "\n") != strings.Join(postgres, "\n") {
		t.Errorf("the dialects differ:\nSQLite:\n%s\n\nPostgreSQL:\n%s", strings.Join(sqlite, "\n"), strings.Join(postgres, "\n"))
	}
	if len(sqlite) < 40 {
		t.Errorf("only %d columns: the schema was not read", len(sqlite))
	}
}

// schema migrates db as scs-users does and returns its columns as
// "table.column kind null|not null", sorted.
func schema(t *testing.T, db *sqldb.DB) []string {
	t.Helper()
	ctx := context.Background()
	if err := migrations.Apply(ctx, db); err != nil {
		t.Fatal(err)
	}
	var out []string
	add := func(table, column, typ string, notNull bool) {
		kinds := map[string]string{"integer": "int", "bigint": "int", "text": "text", "real": "float", "double precision": "float"}
		kind, ok := kinds[strings.ToLower(typ)]
		if !ok {
			t.Errorf("%s.%s has the type %q, which this test does not know", table, column, typ)
		}
		null := "null"
		if notNull {
			null = "not null"
		}
		out = append(out, fmt.Sprintf("%s.%s %s %s", table, column, kind, null))
	}
	switch db.Dialect {
	case sqldb.SQLite:
		rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
		if err != nil {
			t.Fatal(err)
		}
		var tables []string
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			tables = append(tables, name)
		}
		rows.Close()
		for _, table := range tables {
			cols, err := db.QueryContext(ctx, `SELECT name, type, "notnull", pk FROM pragma_table_info($1)`, table)
			if err != nil {
				t.Fatal(err)
			}
			for cols.Next() {
				var name, typ string
				var notNull, pk int
				if err := cols.Scan(&name, &typ, &notNull, &pk); err != nil {
					t.Fatal(err)
				}
				// A primary key is NOT NULL on PostgreSQL; on SQLite only
				// INTEGER PRIMARY KEY is, but the others never hold NULL either.
				add(table, name, typ, notNull == 1 || pk > 0)
			}
			cols.Close()
		}
	case sqldb.Postgres:
		rows, err := db.QueryContext(ctx, `SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
			WHERE table_schema = 'public'`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var table, name, typ, nullable string
			if err := rows.Scan(&table, &name, &typ, &nullable); err != nil {
				t.Fatal(err)
			}
			add(table, name, typ, nullable == "NO")
		}
		rows.Close()
	}
	slices.Sort(out)
	return out
}
