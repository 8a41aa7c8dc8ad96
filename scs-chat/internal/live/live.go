// Package live is WhisperChat's live layer: the websocket connections of the
// users, the protocol spoken on them, and the delivery of live frames to every
// connection of a user, on this instance and, through RabbitMQ, on the other
// instances behind the front door.
//
// The database is the durable copy of a conversation; this package is best
// effort on top of it. A frame that cannot be delivered live (the client was too
// slow, the broker was down, the instance restarted) is not retried: the client
// notices a gap in the seq numbers, or reconnects, and sends a resume.
//
// Who delivers a message: the Backend. The connection that receives a "send"
// frame calls Backend.Send and acks what it returns; the Backend, having stored
// the message the first time, calls Hub.Deliver with MessageFrame for the
// conversation's members, the sender included, so the sender's other tabs see
// it too. That way a message sent any other way (a form post) goes out the same
// way, and a resend of a client_id, which stores nothing, delivers nothing. The
// sending tab gets the message and its ack in either order; clients key
// messages by (conversation, seq), which also absorbs a resume that overlaps
// live frames.
package live

import (
	"context"
	"errors"
	"time"
)

// Message is a stored chat message.
type Message struct {
	Conversation string
	Seq          int64
	From         string
	ClientID     string
	Text         string
	SentAt       time.Time
}

// Backend is the store behind the connections, implemented by the package that
// owns the conversations.
type Backend interface {
	// Send stores text from user in conversation and returns the stored message;
	// a repeat of (user, conversation, clientID) returns the message stored the
	// first time. Errors meant for the user implement UserError (a plain-words
	// message): too long, rate limited, conversation ended, not a member. Having
	// stored a new message, Send delivers it to the members with Hub.Deliver.
	// ctx ends with the connection, which may be right after the commit: the
	// delivery should not depend on it (context.WithoutCancel).
	Send(ctx context.Context, userID, conversation, clientID, text string) (Message, error)
	// Since returns up to limit messages of conversation after seq, oldest first,
	// if user is a member.
	Since(ctx context.Context, userID, conversation string, after int64, limit int) ([]Message, error)
}

// UserError is an error whose UserMessage can be shown to the user as it is.
type UserError interface {
	error
	UserMessage() string
}

// ErrTooSlow is why Serve ends a connection whose client does not read its
// frames fast enough: its outbound queue was full or a write timed out.
var ErrTooSlow = errors.New("live: the client was too slow to read its frames")

// ErrNoPong is why Serve ends a connection whose client stopped answering the
// keep-alive pings.
var ErrNoPong = errors.New("live: the client stopped answering pings")
