// Command bench measures the platform on the local broker and databases, in one
// run, and rewrites BENCHMARKS.md with a section per benchmark:
//
//   - replication: the raw broker (publisher confirms into a quorum queue,
//     manual acks, no database) as the baseline, then the platform's path
//     (outbox on SQLite → relay → queue → consumer applying into a SQLite
//     replica);
//   - logins: scs-users' bounded argon2id hashing against an unbounded one;
//   - the matcher: scs-chat's spatial index against the all-pairs scan (its
//     go test benchmark, run as a subprocess);
//   - live delivery: one scs-chat on SQLite with thousands of websockets open,
//     their memory, the delivery latency at a fixed rate and the rate at
//     saturation;
//   - cross-instance delivery: two scs-chat on one PostgreSQL database,
//     partners on the same instance against partners on different ones;
//   - card authorisations: one scs-cards on SQLite and one on PostgreSQL,
//     64 terminal clients spread over 64 accounts and on one hot account,
//     and the overview page of an account with 1,000 transactions.
//
// `make bench` runs it with the defaults; flags shrink each part.
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
