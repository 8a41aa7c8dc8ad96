package live

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/scs-platform/shared-events/eventing/broker"
)

// Defaults of the Config limits.
const (
	DefaultExchange       = "chat.live"
	DefaultReadLimit      = 8 << 10
	DefaultQueueSize      = 64
	DefaultWriteTimeout   = 5 * time.Second
	DefaultPingInterval   = 25 * time.Second
	DefaultPongTimeout    = 15 * time.Second
	DefaultBackendTimeout = 10 * time.Second
	DefaultPublishQueue   = 1024
	// ResumePage is how many messages a resume asks the Backend for at a time.
	ResumePage = 200
	// maxResumes bounds the resumes one connection runs at once (one per
	// conversation).
	maxResumes = 4
)

// Config is what a Hub needs. Zero limits take the defaults above.
type Config struct {
	Backend Backend
	Logger  *slog.Logger

	// Subscriber and Publisher are the broker connections through which the
	// instances of scs-chat pass frames to each other; both or neither (a single
	// instance). They are two connections because RabbitMQ blocks a connection
	// that publishes during a resource alarm, and a consumer on it would then
	// stall too. Hub.Run runs them.
	Subscriber *broker.Runner
	Publisher  *broker.Runner
	// Exchange is the durable fanout exchange the instances share.
	Exchange string
	// Key authenticates the publications between the instances (HMAC-SHA256,
	// at least 32 bytes, the same on every instance): whoever else can publish
	// to the exchange (the broker's administrator) could otherwise show a made-up
	// message in an open conversation or close anyone's connections. Required
	// with Subscriber and Publisher.
	Key []byte
	// PublishQueue bounds the frames waiting to be published. When it is full, or
	// the publisher is not connected, a frame is delivered only locally.
	PublishQueue int

	// OriginPatterns are origins besides the request's own host that may open a
	// websocket, such as the public host of the front door ("chat.example.com").
	// Everything else is refused, which is what stops cross-site websocket
	// hijacking: the browser sends the session cookie with any origin's upgrade.
	OriginPatterns []string

	// ReadLimit is the largest client frame, in bytes; a larger one ends the
	// connection with status 1009.
	ReadLimit int64
	// QueueSize is how many frames may wait for a connection's writer; a frame
	// more ends the connection as too slow.
	QueueSize int
	// WriteTimeout bounds the write of one frame; a slower write ends the
	// connection as too slow.
	WriteTimeout time.Duration
	// PingInterval is how often a connection is pinged, and PongTimeout how long
	// the pong may take, so that a dead peer's connection ends.
	PingInterval time.Duration
	PongTimeout  time.Duration
	// BackendTimeout bounds each Backend call made for a frame.
	BackendTimeout time.Duration
}

// Hub holds this instance's live connections by user and delivers frames to
// them, here and, through the broker, on the other instances. It implements
// prometheus.Collector.
type Hub struct {
	cfg      Config
	logger   *slog.Logger
	instance string

	mu    sync.RWMutex
	users map[string]map[*conn]struct{}

	// publications waits for the publisher; subscribed and publishing say
	// whether the sessions are up.
	publications chan envelope
	subscribed   atomic.Bool
	publishing   atomic.Bool
	// dropLog and refusedLog limit the warnings about dropped and refused
	// publications.
	dropLog, refusedLog sometimes
	// pubSeq numbers this instance's publications as the publisher sends them;
	// seen holds the newest seen from each other instance (see fresh).
	pubSeq atomic.Uint64
	seen   map[string]seenInstance

	m metrics
}

// NewHub checks cfg and returns a Hub. Each Hub has its own random instance id,
// by which it recognises its own publications.
func NewHub(cfg Config) (*Hub, error) {
	if cfg.Backend == nil {
		return nil, errors.New("live: Config.Backend is nil")
	}
	if (cfg.Subscriber == nil) != (cfg.Publisher == nil) {
		return nil, errors.New("live: Config.Subscriber and Config.Publisher go together: set both or neither")
	}
	if cfg.Subscriber != nil && len(cfg.Key) < 32 {
		return nil, errors.New("live: Config.Key must hold at least 32 bytes to authenticate the instances' publications")
	}
	for _, p := range cfg.OriginPatterns {
		if _, err := path.Match(p, ""); err != nil || p == "*" {
			return nil, fmt.Errorf("live: origin pattern %q: want a host such as chat.example.com", p)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Exchange == "" {
		cfg.Exchange = DefaultExchange
	}
	setDefault(&cfg.PublishQueue, DefaultPublishQueue)
	setDefault(&cfg.ReadLimit, DefaultReadLimit)
	setDefault(&cfg.QueueSize, DefaultQueueSize)
	setDefault(&cfg.WriteTimeout, DefaultWriteTimeout)
	setDefault(&cfg.PingInterval, DefaultPingInterval)
	setDefault(&cfg.PongTimeout, DefaultPongTimeout)
	setDefault(&cfg.BackendTimeout, DefaultBackendTimeout)
	h := &Hub{
		cfg:          cfg,
		instance:     rand.Text()[:16],
		users:        make(map[string]map[*conn]struct{}),
		publications: make(chan envelope, cfg.PublishQueue),
		seen:         make(map[string]seenInstance),
	}
	h.logger = cfg.Logger.With("instance", h.instance)
	return h, nil
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Instance is the hub's instance id.
func (h *Hub) Instance() string { return h.instance }

// Connected reports whether the hub is bound to the exchange and can publish to
// it, for readiness checks. A single-instance hub is always connected.
func (h *Hub) Connected() bool {
	if h.cfg.Subscriber == nil {
		return true
	}
	return h.subscribed.Load() && h.publishing.Load()
}

// Connections is how many connections userID has open on this instance.
func (h *Hub) Connections(userID string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.users[userID])
}

// Deliver sends frame, a JSON object with a "type", to every connection of the
// users: those on this instance at once, those on the others through the broker.
// It never waits for a client or the broker: a connection whose queue is full
// is ended as too slow, and a frame the publisher cannot take is delivered
// locally only (and counted). The error is for a frame that is not a JSON
// object with a "type" (a bug in the caller), or ctx having ended.
func (h *Hub) Deliver(ctx context.Context, userIDs []string, frame []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkFrame(frame); err != nil {
		return err
	}
	if len(userIDs) == 0 {
		return nil
	}
	h.deliverLocal(userIDs, frame)
	if h.cfg.Publisher != nil {
		// The publisher encodes it later: a copy of the caller's slice.
		h.publish(envelope{Instance: h.instance, To: slices.Clone(userIDs), Frame: frame})
	}
	return nil
}

// DeliverLocal sends frame to the connections of userID on this instance only,
// for a caller that runs on every instance. The error is Deliver's.
func (h *Hub) DeliverLocal(userID string, frame []byte) error {
	if err := checkFrame(frame); err != nil {
		return err
	}
	h.deliverLocal([]string{userID}, frame)
	return nil
}

// Close ends every connection of userID with status 4001 and reason, on this
// instance and the others, for a user who was banned, deleted or signed out
// everywhere, when the news reaches one instance. The reason is shown to the
// user; at most 123 bytes are sent. Across instances closing is best effort,
// like Deliver: whatever lets the user connect must refuse them too.
func (h *Hub) Close(userID, reason string) {
	h.CloseLocal(userID, reason)
	if h.cfg.Publisher != nil {
		h.publish(envelope{Instance: h.instance, Close: &closeOrder{User: userID, Reason: reason}})
	}
}

// CloseLocal is Close on this instance only, for a caller that learns of the
// change on every instance.
func (h *Hub) CloseLocal(userID, reason string) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.users[userID] {
		c.end(ending{kind: endClosed, reason: reason})
	}
}

func (h *Hub) deliverLocal(userIDs []string, frame []byte) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for i, u := range userIDs {
		if contains(userIDs[:i], u) {
			continue
		}
		for c := range h.users[u] {
			c.push(frame)
		}
	}
}

func (h *Hub) register(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	conns := h.users[c.user]
	if conns == nil {
		conns = make(map[*conn]struct{}, 1)
		h.users[c.user] = conns
	}
	conns[c] = struct{}{}
	h.m.connections.Add(1)
}

func (h *Hub) unregister(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	conns := h.users[c.user]
	if _, ok := conns[c]; !ok {
		return
	}
	delete(conns, c)
	if len(conns) == 0 {
		delete(h.users, c.user)
	}
	h.m.connections.Add(-1)
}

// checkFrame makes sure a frame from the rest of the system is something a
// browser will accept as a text message and the client can dispatch on.
func checkFrame(frame []byte) error {
	if !utf8.Valid(frame) {
		return errors.New("live: the frame is not valid UTF-8")
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(frame, &head); err != nil || head.Type == "" {
		return fmt.Errorf("live: the frame must be a JSON object with a \"type\": %q", truncate(string(frame), 100))
	}
	return nil
}

// truncate shortens s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
