package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/scs-platform/shared-events/identity/authn"
)

// liveConn is one user's websocket to a conversation page, as the page's
// script opens it.
type liveConn struct {
	userID string
	ws     *websocket.Conn
	// acks receives the number of every message acked on this connection, for
	// a sender that waits for its ack; nobody waiting, it drops them.
	acks chan int64
}

// dialLive opens user's websocket to conversation on the scs-chat at base and
// starts reading it into rec. No Origin header is sent: scs-chat allows that
// (a browser always sends one; the check is against other sites).
func dialLive(ctx context.Context, base, userID, token, conversation string, rec *recorder) (*liveConn, error) {
	u := "ws" + strings.TrimPrefix(base, "http") + "/chat/live?conversation=" + conversation
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		HTTPHeader:      http.Header{"Cookie": {(&http.Cookie{Name: authn.CookieName, Value: token}).String()}},
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("open the websocket of conversation %s: %s: %w", conversation, resp.Status, err)
		}
		return nil, fmt.Errorf("open the websocket of conversation %s: %w", conversation, err)
	}
	c := &liveConn{userID: userID, ws: ws, acks: make(chan int64, 64)}
	go c.read(rec)
	return c, nil
}

// read reads frames until the connection closes. A websocket must be read for
// its pings to be answered, even when no frame is expected.
func (c *liveConn) read(rec *recorder) {
	for {
		_, data, err := c.ws.Read(context.Background())
		if err != nil {
			rec.closed(c, err)
			return
		}
		rec.frame(c, data, rec.clock.now())
	}
}

// send writes a send frame for message number n, from this connection's user.
func (c *liveConn) send(ctx context.Context, conversation string, n int64) error {
	frame := fmt.Appendf(nil, `{"type":"send","conversation":%q,"client_id":%q,"text":"benchmark message %d"}`, conversation, clientID(n), n)
	return c.ws.Write(ctx, websocket.MessageText, frame)
}

// drainAcks forgets the acks nobody waited for.
func (c *liveConn) drainAcks() {
	for {
		select {
		case <-c.acks:
		default:
			return
		}
	}
}

// clientID names message number n. The numbers never repeat in a run: chat
// treats a repeated client_id as a resend and delivers nothing.
func clientID(n int64) string { return "m" + strconv.FormatInt(n, 10) }

// messageNumber reads clientID's number back.
func messageNumber(id string) (int64, bool) {
	s, ok := strings.CutPrefix(id, "m")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}

// serverFrame is what the benchmark reads of scs-chat's frames.
type serverFrame struct {
	Type     string `json:"type"`
	From     string `json:"from"`
	ClientID string `json:"client_id"`
	Error    string `json:"error"`
}

// recorder times the messages of the current phase: when each was sent, when
// its ack came back to the sender, when its "message" frame reached the
// partner. The readers of every connection call it, concurrently.
type recorder struct {
	clock clock
	next  atomic.Int64 // the next message number
	cur   atomic.Pointer[phase]

	errors    atomic.Int64
	lost      atomic.Int64 // connections that closed before the end
	mu        sync.Mutex
	firstErr  string
	finishing atomic.Bool
}

func newRecorder(c clock) *recorder { return &recorder{clock: c} }

// phase is the messages numbered first, first+1, ... first+len-1.
type phase struct {
	first  int64
	sentAt []atomic.Int64
	ackAt  []atomic.Int64
	recvAt []atomic.Int64
	acked  atomic.Int64
	recvd  atomic.Int64
}

// begin starts a phase of at most size messages and returns it; the messages
// of earlier phases are ignored from now on.
func (r *recorder) begin(size int) *phase {
	first := r.next.Add(int64(size)) - int64(size)
	p := &phase{first: first, sentAt: make([]atomic.Int64, size), ackAt: make([]atomic.Int64, size), recvAt: make([]atomic.Int64, size)}
	r.cur.Store(p)
	return p
}

// number is the message number of the phase's i-th message.
func (p *phase) number(i int) int64 { return p.first + int64(i) }

// index is the phase's index of message n, if it is one of its.
func (p *phase) index(n int64) (int, bool) {
	i := n - p.first
	return int(i), i >= 0 && i < int64(len(p.sentAt))
}

// sent records that message i is about to be written.
func (p *phase) sent(i int, at int64) { p.sentAt[i].Store(at) }

func (r *recorder) frame(c *liveConn, data []byte, at int64) {
	var f serverFrame
	if err := json.Unmarshal(data, &f); err != nil {
		r.fail(fmt.Sprintf("an unreadable frame: %.100q", data))
		return
	}
	switch f.Type {
	case "error":
		r.fail("an error frame: " + f.Error)
		return
	case "ack", "message":
	default:
		return // pong, matched, renamed...: not about the measured messages
	}
	n, ok := messageNumber(f.ClientID)
	if !ok {
		return
	}
	p := r.cur.Load()
	if p == nil {
		return
	}
	i, ok := p.index(n)
	if !ok {
		return // an earlier phase's, arriving late
	}
	switch {
	case f.Type == "ack":
		if p.ackAt[i].CompareAndSwap(0, at) {
			p.acked.Add(1)
		}
		select {
		case c.acks <- n:
		default:
		}
	case f.From != c.userID:
		// The partner's copy; the sender's own connection gets one too.
		if p.recvAt[i].CompareAndSwap(0, at) {
			p.recvd.Add(1)
		}
	}
}

func (r *recorder) fail(why string) {
	r.errors.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.firstErr == "" {
		r.firstErr = why
	}
}

// closed notes a connection that ended; at the end of the run, when the
// benchmark closes them, that is expected.
func (r *recorder) closed(c *liveConn, err error) {
	if r.finishing.Load() {
		return
	}
	r.lost.Add(1)
	r.fail(fmt.Sprintf("the connection of %s closed: %v", c.userID, err))
}

// check fails if a frame said something went wrong or a connection closed.
func (r *recorder) check() error {
	if r.errors.Load() == 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Errorf("%d things went wrong on the websockets (%d connections closed); the first: %s", r.errors.Load(), r.lost.Load(), r.firstErr)
}

// waitDelivered waits until every message the phase sent has reached its
// partner and been acked, or until timeout: what is missing then is lost.
func (p *phase) waitDelivered(ctx context.Context, sent int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for p.recvd.Load() < int64(sent) || p.acked.Load() < int64(sent) {
		if time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// delays returns, for the phase's first sent messages that keep(i) selects,
// the delays from sending to the partner's copy (deliveries) and to the ack
// (acks), and how many of those sent were never delivered.
func (p *phase) delays(sent int, keep func(i int) bool) (deliveries, acks []time.Duration, undelivered int) {
	for i := range sent {
		if !keep(i) {
			continue
		}
		s := p.sentAt[i].Load()
		if r := p.recvAt[i].Load(); r != 0 {
			deliveries = append(deliveries, time.Duration(r-s))
		} else {
			undelivered++
		}
		if a := p.ackAt[i].Load(); a != 0 {
			acks = append(acks, time.Duration(a-s))
		}
	}
	return deliveries, acks, undelivered
}

func all(int) bool { return true }

// openConns dials the websockets of both members of every pair on the given
// instances (a's on baseA, b's on baseB), workers at a time.
func openConns(ctx context.Context, users *chatUsers, pairs []pair, baseA, baseB string, rec *recorder, workers int) ([][2]*liveConn, error) {
	conns := make([][2]*liveConn, len(pairs))
	err := forEach(ctx, 2*len(pairs), workers, func(k int) error {
		p, side := pairs[k/2], k%2
		user, base := p.A, baseA
		if side == 1 {
			user, base = p.B, baseB
		}
		c, err := dialLive(ctx, base, users.IDs[user], users.Tokens[user], p.Conversation, rec)
		if err != nil {
			return fmt.Errorf("%w (open files limit %d)", err, openFilesLimit())
		}
		conns[k/2][side] = c
		return nil
	})
	if err != nil {
		closeConns(conns, rec)
	}
	return conns, err
}

// closeConns closes every connection at once, without the closing handshake.
func closeConns(conns [][2]*liveConn, rec *recorder) {
	rec.finishing.Store(true)
	for _, pc := range conns {
		for _, c := range pc {
			if c != nil {
				_ = c.ws.CloseNow()
			}
		}
	}
}
