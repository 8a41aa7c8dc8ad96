// Command bench measures how fast events replicate between systems, on the local
// broker and in one run: first the raw broker (publisher confirms into a quorum
// queue, manual acks, no database) as the baseline, then the platform's path
// (outbox on SQLite → relay → queue → consumer applying into a SQLite replica).
// It prints a table and rewrites BENCHMARKS.md. `make bench` runs it.
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
