package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Servers sharing one database (Config.Replica): each renews its row in
// replicas while it lives. A CI/CD or Data Factory run names the server
// running it (owner); a run left open is stranded once its owner is this
// server (started again on the same home) or has stopped renewing, and
// only then do the services' recoveries close it.

// Heartbeat says this server lives until until, reached by the other
// servers at address (a base URL; "" keeps the one recorded). It does
// nothing for a server alone.
func (s *Store) Heartbeat(ctx context.Context, until time.Time, address string) error {
	if s.replica == "" {
		return nil
	}
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO replicas (id, heartbeat_until, address) VALUES (?1, ?2, ?3)
			ON CONFLICT (id) DO UPDATE SET heartbeat_until = excluded.heartbeat_until,
			address = CASE WHEN ?3 = '' THEN replicas.address ELSE ?3 END`, s.replica, timeArg(until), address)
		return err
	})
	return opErr(fmt.Sprintf("heartbeat of %s", s.replica), err)
}

// ReplicaAddress returns the address the server named id recorded with its
// heartbeat; store.ErrNotFound when no such server renews its heartbeat at
// now or it recorded none.
func (s *Store) ReplicaAddress(ctx context.Context, id string, now time.Time) (string, error) {
	var addr string
	err := s.rdb.QueryRowContext(ctx, `SELECT address FROM replicas WHERE id = ? AND heartbeat_until >= ? AND address <> ''`,
		id, timeArg(now)).Scan(&addr)
	if err != nil {
		return "", opErr(fmt.Sprintf("address of server %s", id), notFoundIfNone(err))
	}
	return addr, nil
}

// stranded is the condition that a run with owner column col is this
// server's to close: any run for a server alone; else one with no owner,
// or whose owner has stopped renewing by now, or (with mine: the server
// starting again on the same home) its own.
func (s *Store) stranded(col string, now time.Time, mine bool) (string, []any) {
	if s.replica == "" {
		return "TRUE", nil
	}
	return `(` + col + ` = '' OR (? AND ` + col + ` = ?) OR ` + col + ` NOT IN (SELECT id FROM replicas WHERE heartbeat_until >= ?))`,
		[]any{mine, s.replica, timeArg(now)}
}

// claimSQL is the statement by which this server claims the rows of table
// that match cond: UPDATE table SET set for the rows (by their key columns,
// comma-separated) a subquery chooses
// (ending with tail: an order and a limit), RETURNING returning. The
// subquery skips rows another server is claiming (the dialect's
// skipLocked), and cond is checked again outside, where PostgreSQL re-reads
// a row another claim changed after the statement began: without it, two
// servers claimed one job (TestJobLeasesRace). cond's parameters are bound
// twice, in the subquery and outside.
func (s *Store) claimSQL(table, key, set, cond, tail, returning string) string {
	return `UPDATE ` + table + ` SET ` + set + ` WHERE (` + key + `) IN (
		SELECT ` + key + ` FROM ` + table + ` WHERE ` + cond + tail + s.d.skipLocked + `)
		AND ` + cond + ` RETURNING ` + returning
}
