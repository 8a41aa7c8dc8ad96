// Package chat is WhisperChat's logic: the waiting room and its matchmaking,
// conversations, messages, blocks and reports.
//
// Matchmaking runs on every instance, one join at a time across all of them:
// a join holds the matchmaking lock (an advisory lock on PostgreSQL, the one
// write lock on SQLite) for its transaction. Each instance keeps the waiting
// room in an in-memory spatial index (package matching) and, under the lock,
// first reads the waiting_log rows written since it last looked, so the index it
// decides on is the database's. A decision is then a lookup, not a scan.
package chat

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/outbox"
	"github.com/scs-platform/shared-events/httpkit/ratelimit"

	"github.com/scs-platform/scs-chat/internal/matching"
)

// Notifier tells users' open pages what happened, live. Its calls come after
// the change has committed and must not block for long.
type Notifier interface {
	// Matched tells userID that the conversation started.
	Matched(ctx context.Context, userID, conversationID string)
	// Ended tells userID that the partner left (or could no longer stay).
	Ended(ctx context.Context, userID, conversationID string)
	// Message hands a stored message to both members' pages.
	Message(ctx context.Context, m Message, members []string)
}

// Service is the chat. Its zero value is not usable; set the fields and keep
// one Service per process: the matchmaking index lives in it.
type Service struct {
	DB     *sqldb.DB
	Outbox *outbox.Outbox
	Notify Notifier
	Logger *slog.Logger
	// Messages limits each user's messages (burst and leak rate).
	Messages *ratelimit.Memory
	// Grace is how long a waiting user may show no sign of life (a page view,
	// an open websocket's heartbeat) before the entry ends.
	Grace time.Duration
	// MaxWait ends a waiting entry this long after the join, alive or not.
	MaxWait time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu sync.Mutex // serialises this instance's use of room
	room
	counters

	stmtMu sync.Mutex
	send   *sendStmts
}

// The limits of what users send.
const (
	// MaxMessageLength is the most characters (code points) in a message.
	MaxMessageLength = 2000
	// MinRangeKm and MaxRangeKm bound the range a user may ask for.
	MinRangeKm = 0.1
	MaxRangeKm = 500
)

// Errors meant for the user carry a sentence in plain words (see UserError).
var (
	ErrNotFound = errors.New("there is no such conversation")
	// ErrInConversation is a join by a user who is already chatting.
	ErrInConversation = errors.New("you are already in a conversation")
	ErrEnded          = errors.New("this conversation has ended")
	ErrNotWaiting     = errors.New("you are not waiting")
)

// UserError is an error whose message may be shown to the user as it is.
type UserError struct {
	// Field names the form field it is about, if any.
	Field   string
	Message string
	// RetryAfter is set on a rate limit.
	RetryAfter time.Duration
}

func (e *UserError) Error() string { return e.Message }

// UserMessage returns the sentence to show.
func (e *UserError) UserMessage() string { return e.Message }

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// room is this instance's copy of the waiting room.
type room struct {
	index *matching.Index
	// seen is the last waiting_log seq the index reflects; 0 with a nil index
	// means "load it all".
	seen int64
}
