package chat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/database/sqldb"
)

// Message is one stored message of a conversation.
type Message struct {
	ConversationID string
	// Seq orders the conversation's messages: 1, 2, 3...
	Seq      int64
	SenderID string
	// ClientID is the sender's id for it, which makes a resend idempotent.
	ClientID string
	Text     string
	SentAt   time.Time
}

// MaxClientIDLength bounds a client message id.
const MaxClientIDLength = 64

// ValidateText trims text and checks it is 1 to MaxMessageLength characters of
// text (line breaks and tabs allowed; other control characters not).
func ValidateText(text string) (string, error) {
	text = strings.TrimSpace(text)
	switch n := utf8.RuneCountInString(text); {
	case n == 0:
		return "", &UserError{Field: "text", Message: "A message cannot be empty."}
	case n > MaxMessageLength:
		return "", &UserError{Field: "text", Message: fmt.Sprintf("A message can be at most %d characters; this one has %d.", MaxMessageLength, n)}
	case !printable(text, true):
		return "", &UserError{Field: "text", Message: "The message holds characters that are not text."}
	}
	if err := disguising("text", "message", text); err != nil {
		return "", err
	}
	return text, nil
}

// disguising refuses text that the partner or a moderator will read if it
// holds an invisible character that reorders it on their screens
// (contracts.DisguisingCharacter), naming the character; field is the form's
// field, what the text's name in the message.
func disguising(field, what, text string) *UserError {
	if r, found := contracts.DisguisingCharacter(text); found {
		return &UserError{Field: field, Message: fmt.Sprintf("The %s contains an invisible character that reverses text direction (%U); remove it.", what, r)}
	}
	return nil
}

// ValidClientID reports whether id is 1 to MaxClientIDLength of [A-Za-z0-9_-].
func ValidClientID(id string) bool {
	if id == "" || len(id) > MaxClientIDLength {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// printable reports whether s is valid UTF-8 without control characters,
// except line breaks and tabs when lines is true.
func printable(s string, lines bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if lines && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// Send stores a message by userID in conversation id, and only then hands it to
// the members' pages. A resend with the same clientID returns the message stored
// the first time and stores nothing. Errors: ErrNotFound, ErrEnded, and a
// *UserError for a bad text or the rate limit.
func (s *Service) Send(ctx context.Context, userID, id, clientID, text string) (Message, error) {
	if !ValidClientID(clientID) {
		return Message{}, &UserError{Field: "client_id", Message: "The message id must be 1 to 64 letters, digits, '-' or '_'."}
	}
	text, err := ValidateText(text)
	if err != nil {
		return Message{}, err
	}
	st, err := s.sendStatements(ctx)
	if err != nil {
		return Message{}, err
	}
	var m Message
	var members [2]string
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		// The conversation row is the lock that orders its messages.
		var a, b string
		var ended sql.NullInt64
		var last int64
		err := tx.StmtContext(ctx, st.lock).QueryRowContext(ctx, id, userID).Scan(&a, &b, &ended, &last)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		// A resend finds its first copy, under the lock, and is not counted.
		if m, err = stored(ctx, tx.StmtContext(ctx, st.stored), id, userID, clientID); err == nil || !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if ended.Valid {
			return ErrEnded
		}
		if err := s.takeMessage(userID); err != nil {
			return err
		}
		members = [2]string{a, b}
		m = Message{ConversationID: id, Seq: last + 1, SenderID: userID, ClientID: clientID, Text: text, SentAt: s.now().UTC().Truncate(time.Microsecond)}
		if _, err := tx.StmtContext(ctx, st.number).ExecContext(ctx, m.Seq, id); err != nil {
			return err
		}
		_, err = tx.StmtContext(ctx, st.insert).ExecContext(ctx, id, m.Seq, userID, clientID, text, m.SentAt.UnixMicro())
		return err
	})
	if err != nil {
		if forTheUser(err) {
			return Message{}, err
		}
		return Message{}, fmt.Errorf("chat: send: %w", err)
	}
	if members[0] != "" {
		s.Notify.Message(ctx, m, members[:])
	}
	return m, nil
}

// takeMessage counts a message against userID's limit.
func (s *Service) takeMessage(userID string) error {
	if s.Messages == nil {
		return nil
	}
	ok, wait := s.Messages.Take(userID)
	if ok {
		return nil
	}
	secs := int(math.Ceil(wait.Seconds()))
	return &UserError{Field: "text", RetryAfter: wait,
		Message: fmt.Sprintf("You are sending messages too fast. Wait %d second%s.", secs, plural(secs))}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// stored returns the message userID sent with clientID, or sql.ErrNoRows.
func stored(ctx context.Context, q *sql.Stmt, id, userID, clientID string) (Message, error) {
	m := Message{ConversationID: id, SenderID: userID, ClientID: clientID}
	var at int64
	err := q.QueryRowContext(ctx, id, userID, clientID).Scan(&m.Seq, &m.Text, &at)
	m.SentAt = fromMicros(at)
	return m, err
}

// sendStmts are Send's statements, prepared once: preparing them for every
// message took about a sixth of chat's CPU. database/sql keeps each prepared
// on every connection it has used it on.
type sendStmts struct {
	lock, stored, number, insert *sql.Stmt
}

func (s *Service) sendStatements(ctx context.Context) (*sendStmts, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if s.send != nil {
		return s.send, nil
	}
	var st sendStmts
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&st.lock, `SELECT user_a, user_b, ended_at_us, last_seq FROM conversations WHERE id = $1 AND (user_a = $2 OR user_b = $2)` + s.DB.ForUpdate()},
		{&st.stored, `SELECT seq, body, sent_at_us FROM messages WHERE conversation_id = $1 AND sender_id = $2 AND client_id = $3`},
		{&st.number, `UPDATE conversations SET last_seq = $1 WHERE id = $2`},
		{&st.insert, `INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, sent_at_us) VALUES ($1, $2, $3, $4, $5, $6)`},
	} {
		stmt, err := s.DB.PrepareContext(ctx, p.query)
		if err != nil {
			return nil, fmt.Errorf("chat: prepare: %w", err)
		}
		*p.stmt = stmt
	}
	s.send = &st
	return s.send, nil
}

// Since returns up to limit messages of conversation id after seq, oldest
// first, if userID is a member (ErrNotFound otherwise).
func (s *Service) Since(ctx context.Context, userID, id string, after int64, limit int) ([]Message, error) {
	var n int
	if err := s.DB.QueryRowContext(ctx, `SELECT count(*) FROM conversations WHERE id = $1 AND (user_a = $2 OR user_b = $2)`, id, userID).Scan(&n); err != nil {
		return nil, fmt.Errorf("chat: messages: %w", err)
	}
	if n == 0 {
		return nil, ErrNotFound
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT seq, sender_id, client_id, body, sent_at_us FROM messages
		WHERE conversation_id = $1 AND seq > $2 ORDER BY seq`+sqldb.Limit(limit), id, after)
	if err != nil {
		return nil, fmt.Errorf("chat: messages: %w", err)
	}
	defer rows.Close()
	var list []Message
	for rows.Next() {
		m := Message{ConversationID: id}
		var at int64
		if err := rows.Scan(&m.Seq, &m.SenderID, &m.ClientID, &m.Text, &at); err != nil {
			return nil, fmt.Errorf("chat: messages: %w", err)
		}
		m.SentAt = fromMicros(at)
		list = append(list, m)
	}
	return list, rows.Err()
}
