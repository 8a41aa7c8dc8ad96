package live

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// StatusSessionEnded is the close status of a connection ended by Hub.Close or
// Hub.CloseLocal; the close reason says why in plain words.
const StatusSessionEnded websocket.StatusCode = 4001

// maxCloseReason is the most a websocket close frame has room for.
const maxCloseReason = 123

// conn is one websocket connection. The goroutine that called Serve reads;
// live frames wait in queue for a writer goroutine, which runs only while there
// is something to write, and pings run off a timer. An idle connection thus
// holds one goroutine, not three: on a chat server most connections are idle,
// and each goroutine's stack costs more than the rest of the connection.
type conn struct {
	hub  *Hub
	ws   *websocket.Conn
	user string

	// ctx bounds the Backend calls made for the connection; it ends with the
	// connection. abort ends too when the connection is abandoned rather than
	// closed politely, cutting short a write or ping in progress.
	ctx         context.Context
	cancel      context.CancelFunc
	abort       context.Context
	cancelAbort context.CancelFunc
	pingTimer   *time.Timer

	mu      sync.Mutex
	over    bool     // end has been called
	ending  ending   // why, once over
	queue   [][]byte // live frames waiting for the writer, at most Config.QueueSize
	writing bool     // a writer goroutine is draining queue
	// finished is set when Serve waits for tasks, after which none may start.
	finished bool
	tasks    sync.WaitGroup // the writer, resumes, pings and the closing
	resumes  map[string]*resumeRun
}

type endKind int

const (
	endPeer     endKind = iota // the client closed, or the connection failed
	endTooSlow                 // the client did not read fast enough
	endNoPong                  // the client stopped answering pings
	endClosed                  // Hub.Close
	endShutdown                // the ctx given to Serve ended
)

type ending struct {
	kind   endKind
	reason string // endClosed
	err    error  // endPeer
}

type resumeRun struct{ cancel context.CancelFunc }

// Serve upgrades the request to a websocket for userID, whom the caller has
// authenticated, and runs the connection until it ends: the client closes it,
// it fails, Close ends it, or ctx ends (then it closes with 1001, "going
// away"). Pass a ctx that ends at shutdown: the http.Server does not track
// hijacked connections.
//
// A frame delivered between the upgrade and the connection's registration
// moments later is missed, like any frame sent while the client was away: a
// client sends a resume for its conversations once connected.
//
// Serve returns when the connection is gone and no longer counted by
// Connections. The error is nil for an ordinary end, and otherwise for the
// log: the refused upgrade (the response, such as 403 for a foreign origin, has
// been written), ErrTooSlow, ErrNoPong, a frame over the read limit, or a lost
// connection.
func (h *Hub) Serve(ctx context.Context, w http.ResponseWriter, r *http.Request, userID string) error {
	done := make(chan error, 1)
	if err := h.Start(ctx, w, r, userID, func(err error) { done <- err }); err != nil {
		return err
	}
	return <-done
}

// Start is Serve without the wait: it upgrades the request, returns, and runs
// the connection on a goroutine of its own, calling ended with what Serve
// would return once it is gone. The handler's goroutine, whose stack grew
// while it verified the session and read the database, can then end: an idle
// connection holds one small goroutine instead of it. The error is a refused
// upgrade, and then ended is not called.
func (h *Hub) Start(ctx context.Context, w http.ResponseWriter, r *http.Request, userID string, ended func(error)) error {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: h.cfg.OriginPatterns})
	if err != nil {
		return fmt.Errorf("live: refuse websocket: %w", err)
	}
	ws.SetReadLimit(h.cfg.ReadLimit)
	c := &conn{hub: h, ws: ws, user: userID}
	// The connection's contexts keep ctx's values but not its end, which closes
	// the connection politely instead (see end).
	c.ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	c.abort, c.cancelAbort = context.WithCancel(context.Background())
	// Armed only once assigned, since ping uses it.
	c.pingTimer = time.AfterFunc(time.Hour, c.ping)
	c.pingTimer.Reset(h.cfg.PingInterval)
	h.register(c)
	stop := context.AfterFunc(ctx, func() { c.end(ending{kind: endShutdown}) })
	go func() {
		c.end(ending{kind: endPeer, err: c.readLoop()})
		stop()
		c.mu.Lock()
		c.finished = true
		c.mu.Unlock()
		c.tasks.Wait()
		c.pingTimer.Stop()
		ended(c.result())
	}()
	return nil
}

// startTaskLocked counts a goroutine about to start, unless Serve is already
// waiting for them. c.mu is held.
func (c *conn) startTaskLocked() bool {
	if c.finished {
		return false
	}
	c.tasks.Add(1)
	return true
}

// end ends the connection for the first reason given. It never blocks: a
// goroutine of its own does the closing.
//
// One later reason counts: when a write or ping times out, the websocket
// library closes the connection itself, and the reader may see it closed and
// report that before the writer or pinger reports why. Serve reads the reason
// only after both have stopped.
func (c *conn) end(e ending) {
	c.mu.Lock()
	if c.over {
		if (e.kind == endTooSlow || e.kind == endNoPong) && c.ending.kind == endPeer && errors.Is(c.ending.err, net.ErrClosed) {
			c.ending = e
		}
		c.mu.Unlock()
		return
	}
	c.over = true
	c.ending = e
	c.queue = nil
	shut := c.startTaskLocked()
	c.mu.Unlock()

	c.cancel()
	if e.kind != endClosed && e.kind != endShutdown {
		c.cancelAbort()
	}
	if shut {
		go c.shut(e)
	}
}

// shut closes the websocket as the ending asks.
func (c *conn) shut(e ending) {
	defer c.tasks.Done()
	c.hub.unregister(c)
	switch e.kind {
	case endClosed:
		_ = c.ws.Close(StatusSessionEnded, truncate(e.reason, maxCloseReason))
	case endShutdown:
		_ = c.ws.Close(websocket.StatusGoingAway, "the server is restarting")
	default:
		// A client that does not read would not read a close frame either: it
		// would wait behind the frames it has not read.
		_ = c.ws.CloseNow()
	}
}

func (c *conn) result() error {
	c.mu.Lock()
	e := c.ending
	c.mu.Unlock()
	switch e.kind {
	case endTooSlow:
		c.hub.m.slowDisconnects.Add(1)
		return ErrTooSlow
	case endNoPong:
		return ErrNoPong
	case endClosed, endShutdown:
		return nil
	}
	switch {
	case e.err == nil, websocket.CloseStatus(e.err) != -1:
		return nil
	case errors.Is(e.err, websocket.ErrMessageTooBig):
		return fmt.Errorf("live: a frame was larger than %d bytes: %w", c.hub.cfg.ReadLimit, e.err)
	}
	return fmt.Errorf("live: connection lost: %w", e.err)
}

// push queues a live frame for the writer without waiting. A client whose
// queue is full is not keeping up, and waiting for it would hold up every
// sender to it.
func (c *conn) push(frame []byte) {
	c.mu.Lock()
	if c.over {
		c.mu.Unlock()
		return
	}
	if len(c.queue) >= c.hub.cfg.QueueSize {
		c.mu.Unlock()
		c.end(ending{kind: endTooSlow})
		return
	}
	c.queue = append(c.queue, frame)
	start := !c.writing && c.startTaskLocked()
	if start {
		c.writing = true
	}
	c.mu.Unlock()
	if start {
		go c.drain()
	}
}

// drain writes the queued frames in order and ends when the queue is empty.
func (c *conn) drain() {
	defer c.tasks.Done()
	for {
		c.mu.Lock()
		if len(c.queue) == 0 || c.over {
			c.writing = false
			// An idle connection holds no queue.
			c.queue = nil
			c.mu.Unlock()
			return
		}
		frame := c.queue[0]
		c.queue[0] = nil
		c.queue = c.queue[1:]
		c.mu.Unlock()
		if !c.write(frame) {
			c.mu.Lock()
			c.writing = false
			c.mu.Unlock()
			return
		}
	}
}

// write writes one frame within the write timeout, and ends the connection if
// it cannot.
func (c *conn) write(frame []byte) bool {
	ctx, cancel := context.WithTimeout(c.abort, c.hub.cfg.WriteTimeout)
	err := c.ws.Write(ctx, websocket.MessageText, frame)
	// Only the deadline: a cancelled abort means the connection has already
	// ended for another reason.
	timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded)
	cancel()
	switch {
	case timedOut:
		c.end(ending{kind: endTooSlow})
		return false
	case err != nil:
		c.end(ending{kind: endPeer, err: err})
		return false
	}
	c.hub.m.framesOut.Add(1)
	return true
}

// ping runs off pingTimer: it pings, waits for the pong, and sets the timer
// again.
func (c *conn) ping() {
	c.mu.Lock()
	ok := !c.over && c.startTaskLocked()
	c.mu.Unlock()
	if !ok {
		return
	}
	defer c.tasks.Done()
	ctx, cancel := context.WithTimeout(c.abort, c.hub.cfg.PongTimeout)
	defer cancel()
	if err := c.ws.Ping(ctx); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			c.end(ending{kind: endNoPong})
		}
		return
	}
	c.pingTimer.Reset(c.hub.cfg.PingInterval)
}

func (c *conn) readLoop() error {
	for {
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			return err
		}
		c.hub.m.framesIn.Add(1)
		if typ != websocket.MessageText {
			c.push(errorFrame("frames must be JSON in text messages", ""))
			continue
		}
		f, err := ParseClientFrame(data)
		if err != nil {
			var fe *FrameError
			errors.As(err, &fe)
			c.push(errorFrame(fe.Message, fe.ClientID))
			continue
		}
		switch f.Type {
		case FramePing:
			c.push(pongFrame)
		case FrameSend:
			c.send(f)
		case FrameResume:
			c.startResume(f)
		}
	}
}

// send stores a message and acks it; the Backend delivers it. It runs on the
// reading goroutine, so a client's sends are handled in order and one client
// cannot have more than one in the Backend at a time.
func (c *conn) send(f ClientFrame) {
	ctx, cancel := context.WithTimeout(c.ctx, c.hub.cfg.BackendTimeout)
	defer cancel()
	m, err := c.hub.cfg.Backend.Send(ctx, c.user, f.Conversation, f.ClientID, f.Text)
	if err != nil {
		c.push(errorFrame(c.userMessage("send", f.Conversation, err, "the message could not be sent; please send it again"), f.ClientID))
		return
	}
	c.push(ackFrame(f.ClientID, m.Seq))
}

// startResume starts replaying a conversation to the client. A resume of a
// conversation already being replayed replaces that one.
func (c *conn) startResume(f ClientFrame) {
	c.mu.Lock()
	old, replacing := c.resumes[f.Conversation]
	if !replacing && len(c.resumes) >= maxResumes {
		c.mu.Unlock()
		c.push(errorFrame(fmt.Sprintf("at most %d conversations can be resumed at once; try again when they are done", maxResumes), ""))
		return
	}
	if c.over || !c.startTaskLocked() {
		c.mu.Unlock()
		return
	}
	if replacing {
		old.cancel()
	}
	ctx, cancel := context.WithCancel(c.ctx)
	run := &resumeRun{cancel: cancel}
	if c.resumes == nil {
		c.resumes = make(map[string]*resumeRun, 1)
	}
	c.resumes[f.Conversation] = run
	c.mu.Unlock()
	go func() {
		defer c.tasks.Done()
		defer func() {
			c.mu.Lock()
			if c.resumes[f.Conversation] == run {
				delete(c.resumes, f.Conversation)
			}
			c.mu.Unlock()
			cancel()
		}()
		c.resume(ctx, f.Conversation, f.After)
	}()
}

// resume sends the messages of conversation after seq after, a page at a time,
// until it has sent the last one. It writes them itself, not through the queue:
// a long history then goes at the client's pace instead of overflowing the
// queue, and live frames are written in between (the client orders by seq).
func (c *conn) resume(ctx context.Context, conversation string, after int64) {
	for {
		pageCtx, cancel := context.WithTimeout(ctx, c.hub.cfg.BackendTimeout)
		page, err := c.hub.cfg.Backend.Since(pageCtx, c.user, conversation, after, ResumePage)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				c.push(errorFrame(c.userMessage("resume", conversation, err, "the earlier messages could not be loaded; please try again"), ""))
			}
			return
		}
		for _, m := range page {
			if m.Seq <= after {
				// Pages must move forward, or this loop would never end.
				c.hub.logger.Error("live: Backend.Since returned messages out of order", "user", c.user, "conversation", conversation, "after", after, "seq", m.Seq)
				return
			}
			if ctx.Err() != nil || !c.write(MessageFrame(m)) {
				return
			}
			after = m.Seq
		}
		if len(page) < ResumePage {
			return
		}
	}
}

// userMessage is what to tell the user about a Backend error: its own words
// for a UserError, fallback otherwise, in which case the error is logged
// (unless it only reflects the connection having ended).
func (c *conn) userMessage(op, conversation string, err error, fallback string) string {
	if ue, ok := errors.AsType[UserError](err); ok {
		return ue.UserMessage()
	}
	if c.ctx.Err() == nil {
		c.hub.logger.Error("live: "+op, "user", c.user, "conversation", conversation, "err", err)
	}
	return fallback
}
