// Package chattest builds a chat.Service on a test database, with a Notifier
// that records what it was told.
package chattest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/eventing/outbox"

	"log/slog"

	"github.com/scs-platform/scs-chat/internal/chat"
	"github.com/scs-platform/scs-chat/internal/migrations"
)

// NewService migrates db and returns a Service on it. Several Services on one
// PostgreSQL database stand for several instances.
func NewService(t testing.TB, db *sqldb.DB) (*chat.Service, *Notes) {
	t.Helper()
	if err := migrations.Apply(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	notes := &Notes{}
	return &chat.Service{
		DB:      db,
		Outbox:  outbox.New(db, eventsig.DevelopmentSigner("chat")),
		Notify:  notes,
		Logger:  slog.New(slog.DiscardHandler),
		Grace:   30 * time.Second,
		MaxWait: 15 * time.Minute,
	}, notes
}

// Note is one call of the Notifier.
type Note struct {
	Kind, UserID, ConversationID string
	Message                      chat.Message
}

// Notes is a chat.Notifier that records its calls.
type Notes struct {
	mu    sync.Mutex
	notes []Note
}

func (n *Notes) add(note Note) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.notes = append(n.notes, note)
}

// Matched implements chat.Notifier.
func (n *Notes) Matched(_ context.Context, userID, conversationID string) {
	n.add(Note{Kind: "matched", UserID: userID, ConversationID: conversationID})
}

// Ended implements chat.Notifier.
func (n *Notes) Ended(_ context.Context, userID, conversationID string) {
	n.add(Note{Kind: "ended", UserID: userID, ConversationID: conversationID})
}

// Message implements chat.Notifier, one note per member.
func (n *Notes) Message(_ context.Context, m chat.Message, members []string) {
	for _, u := range members {
		n.add(Note{Kind: "message", UserID: u, ConversationID: m.ConversationID, Message: m})
	}
}

// All returns the notes so far.
func (n *Notes) All() []Note {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Note(nil), n.notes...)
}
