package chaos

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scs-platform/shared-events/identity/usersreplica"

	"github.com/scs-platform/e2e/platform"
)

// The users as scs-users holds them and as a consumer's replica holds them:
// the columns the replica copies (id, display name, role, status, the instant
// before which tokens are refused) and the version of the users.user
// aggregate, which the consumer keeps beside the replica to refuse older
// events. Equal rows mean the replica holds every user's newest version;
// that no event went missing on the way is the inbox's to tell (below).
const (
	sourceUsers = `SELECT id, display_name, role, status, tokens_valid_after_us, version
		FROM users ORDER BY id`
	replicaUsers = `SELECT r.user_id, r.display_name, r.role, r.status, r.tokens_valid_after_us, COALESCE(v.version, 0)
		FROM users_replica r LEFT JOIN aggregate_versions v ON v.aggregate = 'users.user' AND v.subject = r.user_id
		ORDER BY r.user_id`
)

// sourceEvents are the ids of the events in scs-users' outbox (which is also
// its history: nothing is pruned) of the types the users replica handles.
func sourceEvents() string {
	var types []string
	for typ := range usersreplica.Handlers() {
		types = append(types, "'"+typ+"'")
	}
	return `SELECT event_id FROM outbox WHERE type IN (` + strings.Join(types, ", ") + `) ORDER BY event_id`
}

// inboxEvents are the ids of the events the consumer recorded in its inbox,
// in the transaction that applied them (or found them stale). Equal to
// sourceEvents, they say that every event reached the replica, including
// those whose changes a later event overwrote, which the users' rows alone
// cannot tell.
func inboxEvents(consumer string) string {
	return `SELECT event_id FROM inbox WHERE queue = '` + consumer + `.from-users' ORDER BY event_id`
}

// snapshot is a table read at one instant: its rows, one tab-separated line
// each, and a sha256 over them.
type snapshot struct {
	rows []string
	hash string
}

// read runs query on the SQLite file at path; its one statement reads from one
// snapshot of the database, whatever the system writes meanwhile.
func read(ctx context.Context, path, query string) (snapshot, error) {
	db, err := platform.ReadOnly(path)
	if err != nil {
		return snapshot{}, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return snapshot{}, fmt.Errorf("%s: %w", path, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return snapshot{}, err
	}
	h := sha256.New()
	var s snapshot
	vals := make([]string, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return snapshot{}, fmt.Errorf("%s: %w", path, err)
		}
		line := strings.Join(vals, "\t")
		s.rows = append(s.rows, line)
		h.Write([]byte(line + "\n"))
	}
	if err := rows.Err(); err != nil {
		return snapshot{}, fmt.Errorf("%s: %w", path, err)
	}
	s.hash = hex.EncodeToString(h.Sum(nil))
	return s, nil
}

// converge polls, for up to timeout, until the users replica of every
// consumer equals scs-users' users table and its inbox holds every event of
// scs-users' outbox, and returns how long that took, the source's last
// users snapshot and the number of its events. On timeout it fails the test with the first differences.
func converge(t *testing.T, p *platform.Platform, timeout time.Duration, consumers ...string) (time.Duration, snapshot, int) {
	t.Helper()
	ctx := context.Background()
	source := p.DatabasePath(t, "users")
	started := time.Now()
	deadline := started.Add(timeout)
	for {
		users, err := read(ctx, source, sourceUsers)
		if err != nil {
			t.Fatalf("read scs-users' users: %v", err)
		}
		events, err := read(ctx, source, sourceEvents())
		if err != nil {
			t.Fatalf("read scs-users' outbox: %v", err)
		}
		var behind []string
		var lastDiff string
		for _, c := range consumers {
			replica := p.DatabasePath(t, c)
			// A consumer just restarted on an empty database may not have
			// created its tables yet: that is behind, not broken.
			rep, err := read(ctx, replica, replicaUsers)
			if err == nil && rep.hash == users.hash {
				var inbox snapshot
				if inbox, err = read(ctx, replica, inboxEvents(c)); err == nil && inbox.hash != events.hash {
					err = fmt.Errorf("inbox against the outbox: %s", difference(events.rows, inbox.rows))
				}
			} else if err == nil {
				err = fmt.Errorf("users replica against the users: %s", difference(users.rows, rep.rows))
			}
			if err != nil {
				behind = append(behind, c)
				lastDiff = fmt.Sprintf("scs-%s: %v", c, err)
			}
		}
		if len(behind) == 0 {
			return time.Since(started), users, len(events.rows)
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, scs-%s still differ from scs-users (%d users, %d events); %s",
				timeout, strings.Join(behind, " and scs-"), len(users.rows), len(events.rows), lastDiff)
		}
		// The systems are catching up on two cores; reading their databases
		// every few milliseconds would slow the very thing being waited for.
		time.Sleep(100 * time.Millisecond)
	}
}

// difference describes how a replica's rows differ from the source's.
func difference(source, replica []string) string {
	want := map[string]bool{}
	for _, r := range source {
		want[r] = true
	}
	have := map[string]bool{}
	for _, r := range replica {
		have[r] = true
	}
	var missing, extra []string
	for _, r := range source {
		if !have[r] {
			missing = append(missing, r)
		}
	}
	for _, r := range replica {
		if !want[r] {
			extra = append(extra, r)
		}
	}
	const show = 3
	return fmt.Sprintf("%d rows against the source's %d; %d source rows missing (%s), %d rows not in the source (%s)",
		len(replica), len(source), len(missing), strings.Join(missing[:min(show, len(missing))], " | "),
		len(extra), strings.Join(extra[:min(show, len(extra))], " | "))
}

// The dead-letter queues of the platform: what each consumer gave up on.
var deadLetterQueues = []string{"chat.from-users.dead", "cards.from-users.dead", "users.from-chat.dead"}

// queueDepths reads the ready messages of queues in the platform's virtual
// host with passive declares, which change nothing and fail on a queue that
// does not exist (that, too, would be a broken topology).
func queueDepths(t *testing.T, amqpURL string, queues ...string) map[string]int {
	t.Helper()
	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		t.Fatalf("dial the platform's virtual host: %v", err)
	}
	defer conn.Close()
	depths := map[string]int{}
	for _, q := range queues {
		// A failed passive declare closes its channel: one channel per queue.
		ch, err := conn.Channel()
		if err != nil {
			t.Fatalf("open a channel: %v", err)
		}
		info, err := ch.QueueDeclarePassive(q, true, false, false, false, nil)
		var ae *amqp.Error
		if errors.As(err, &ae) && ae.Code == amqp.NotFound {
			t.Fatalf("queue %s does not exist in the platform's virtual host", q)
		}
		if err != nil {
			t.Fatalf("inspect queue %s: %v", q, err)
		}
		depths[q] = info.Messages
		_ = ch.Close()
	}
	return depths
}
