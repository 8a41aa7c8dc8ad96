package web

import (
	"context"
	"errors"

	"github.com/scs-platform/scs-chat/internal/chat"
	"github.com/scs-platform/scs-chat/internal/live"
)

// Notifier tells the users' pages, through the hub, what chat did: it is the
// chat.Notifier of the running system.
type Notifier struct {
	Hub *live.Hub
}

// Matched sends the waiting page of userID to the conversation.
func (n Notifier) Matched(ctx context.Context, userID, conversationID string) {
	_ = n.Hub.Deliver(context.WithoutCancel(ctx), []string{userID}, live.Matched(conversationURL(conversationID)))
}

// Ended tells the conversation page of userID that it has ended.
func (n Notifier) Ended(ctx context.Context, userID, conversationID string) {
	_ = n.Hub.Deliver(context.WithoutCancel(ctx), []string{userID}, live.Ended(conversationID, "partner"))
}

// Message hands a stored message to the members' pages.
func (n Notifier) Message(ctx context.Context, m chat.Message, members []string) {
	_ = n.Hub.Deliver(context.WithoutCancel(ctx), members, live.MessageFrame(liveMessage(m)))
}

func liveMessage(m chat.Message) live.Message {
	return live.Message{Conversation: m.ConversationID, Seq: m.Seq, From: m.SenderID, ClientID: m.ClientID, Text: m.Text, SentAt: m.SentAt}
}

// Backend is the live.Backend over chat: what a websocket's frames do.
type Backend struct {
	Chat *chat.Service
}

// Send stores a message sent over the websocket; chat hands it to the members.
func (b Backend) Send(ctx context.Context, userID, conversation, clientID, text string) (live.Message, error) {
	m, err := b.Chat.Send(ctx, userID, conversation, clientID, text)
	return liveMessage(m), userFacing(err)
}

// Since returns the messages a reconnecting page missed.
func (b Backend) Since(ctx context.Context, userID, conversation string, after int64, limit int) ([]live.Message, error) {
	list, err := b.Chat.Since(ctx, userID, conversation, after, limit)
	out := make([]live.Message, len(list))
	for i, m := range list {
		out[i] = liveMessage(m)
	}
	return out, userFacing(err)
}

// sentence is an error whose message is for the user as it is.
type sentence struct{ error }

func (s sentence) UserMessage() string { return s.Error() }

// userFacing lets the live layer show chat's refusals to the user in chat's
// words (they are sentences already); other errors stay internal.
func userFacing(err error) error {
	if errors.Is(err, chat.ErrNotFound) || errors.Is(err, chat.ErrEnded) {
		return sentence{err}
	}
	return err
}
