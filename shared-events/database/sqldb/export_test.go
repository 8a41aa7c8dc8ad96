package sqldb

// CachedStatements is how many statements db keeps prepared, for tests.
func (db *DB) CachedStatements() int {
	db.stmtsMu.Lock()
	defer db.stmtsMu.Unlock()
	return len(db.stmts)
}
