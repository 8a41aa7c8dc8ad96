package live

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scs-platform/shared-events/eventing/topology"
)

// Cross-instance fan-out. Every instance publishes the frames it delivers to one
// durable fanout exchange, and reads from one exclusive, auto-delete,
// "chat.live.<random>" queue bound to it: one queue per instance, never per user. Each
// publication names its instance and its recipients; an instance skips its own
// (it delivered them locally already) and delivers the others to whichever of
// the recipients are connected to it.
//
// Publications are transient and unconfirmed, and the queue sheds rather than
// grows: the database holds every message, and a client that missed one resumes
// by seq. For the same reason a publication is not retried.
const (
	// prefetch bounds the deliveries in flight to this instance. Handling one
	// never blocks (it only queues frames), so the window is rarely full.
	prefetch = 256
	// queueMaxLength and queueTTL keep an instance that stopped reading from
	// filling the broker: the oldest publications go first, and none outlives
	// the time after which a client would better resume.
	queueMaxLength = 10_000
	queueTTL       = 30 * time.Second
	// dropLogEvery limits the warnings about dropped publications while the
	// broker is down.
	dropLogEvery = 10 * time.Second
)

// envelope is one publication: a frame for some users, or an order to close a
// user's connections.
//
// At (unix milliseconds) and Seq (counting up per instance) are under the MAC
// with the rest, so that a genuine publication replayed later, or twice, is
// refused: without them whoever can publish to the exchange could send a
// waiting user to an old conversation again.
type envelope struct {
	Instance string          `json:"instance"`
	At       int64           `json:"at"`
	Seq      uint64          `json:"seq"`
	To       []string        `json:"to,omitempty"`
	Frame    json.RawMessage `json:"frame,omitempty"`
	Close    *closeOrder     `json:"close,omitempty"`
}

type closeOrder struct {
	User   string `json:"user"`
	Reason string `json:"reason"`
}

// Run runs the subscriber and the publisher, reconnecting through their
// runners, until ctx ends. A single-instance hub just waits for ctx.
func (h *Hub) Run(ctx context.Context) error {
	if h.cfg.Subscriber == nil {
		<-ctx.Done()
		return nil
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = h.cfg.Subscriber.Run(ctx, h.subscribe) })
	wg.Go(func() { _ = h.cfg.Publisher.Run(ctx, h.publishSession) })
	wg.Wait()
	return nil
}

// publish hands e to the publisher without waiting. The publisher stamps it
// (At, Seq) as it sends it: stamped here, two frames delivered at once from
// two goroutines could reach the publisher in the other order than their
// counts, and the other instances would refuse the one that came second as a
// replay (see fresh).
func (h *Hub) publish(e envelope) {
	if !h.publishing.Load() {
		h.dropped("the publisher is not connected")
		return
	}
	select {
	case h.publications <- e:
	default:
		h.dropped("the publish queue is full")
	}
}

func (h *Hub) dropped(why string) {
	n := h.m.droppedPublishes.Add(1)
	if h.dropLog.due() {
		h.logger.Warn("live: frames are delivered on this instance only", "why", why, "dropped_total", n)
	}
}

// sometimes limits a warning that could repeat with every frame to one per
// dropLogEvery, from any goroutine.
type sometimes struct{ last atomic.Int64 }

// due reports whether the warning may be logged now, and if so, counts it.
func (s *sometimes) due() bool {
	now := time.Now().UnixNano()
	last := s.last.Load()
	return now-last >= int64(dropLogEvery) && s.last.CompareAndSwap(last, now)
}

func (h *Hub) declareExchange(ch *amqp.Channel) error {
	if err := ch.ExchangeDeclare(h.cfg.Exchange, amqp.ExchangeFanout, true, false, false, false, nil); err != nil {
		return fmt.Errorf("live: declare exchange %s: %w", h.cfg.Exchange, err)
	}
	return nil
}

// publishSession publishes what Deliver and Close queue until the connection
// fails or ctx ends.
func (h *Hub) publishSession(ctx context.Context, conn *amqp.Connection) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("live: open publish channel: %w", err)
	}
	if err := h.declareExchange(ch); err != nil {
		return err
	}
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	h.publishing.Store(true)
	defer h.publishing.Store(false)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-closed:
			return fmt.Errorf("live: publish channel closed: %w", err)
		case e := <-h.publications:
			e.At, e.Seq = time.Now().UnixMilli(), h.pubSeq.Add(1)
			body, err := json.Marshal(e)
			if err != nil {
				// The frame was checked by Deliver; nothing else can fail to encode.
				h.logger.Error("live: encode publication", "err", err)
				continue
			}
			// A publish blocks only while the broker stops reading (a resource
			// alarm); Deliver does not wait for it, and the queue in front sheds.
			err = ch.PublishWithContext(ctx, h.cfg.Exchange, "", false, false, amqp.Publishing{
				Headers:      amqp.Table{headerMAC: h.mac(body)},
				ContentType:  "application/json",
				DeliveryMode: amqp.Transient,
				AppId:        h.instance,
				Body:         body,
			})
			if err != nil {
				h.dropped("publishing failed")
				return fmt.Errorf("live: publish: %w", err)
			}
			h.m.published.Add(1)
		}
	}
}

// subscribe reads the other instances' publications until the connection fails
// or ctx ends.
//
// Deliveries are acknowledged by hand, after their frames are queued, with a
// bounded prefetch: with automatic acks the broker pushes without limit and the
// AMQP client buffers without limit in this process. The ack buys no
// redelivery worth having (the queue dies with the connection), only the bound.
func (h *Hub) subscribe(ctx context.Context, conn *amqp.Connection) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("live: open subscribe channel: %w", err)
	}
	if err := h.declareExchange(ch); err != nil {
		return err
	}
	// The queue is named under the exchange's name rather than by the server
	// ("amq.gen-..."), so that chat's broker user needs permissions on its own
	// names only (topology.Identity). A fresh name per session: the exclusive
	// queue of a connection the broker has not noticed dead yet would otherwise
	// refuse the new one (RESOURCE_LOCKED).
	name := topology.InstanceQueue(h.cfg.Exchange, strings.ToLower(rand.Text()[:16]))
	q, err := ch.QueueDeclare(name, false, true, true, false, amqp.Table{
		"x-queue-type":  "classic",
		"x-max-length":  int32(queueMaxLength),
		"x-overflow":    "drop-head",
		"x-message-ttl": int32(queueTTL / time.Millisecond),
	})
	if err != nil {
		return fmt.Errorf("live: declare queue: %w", err)
	}
	if err := ch.QueueBind(q.Name, "", h.cfg.Exchange, false, nil); err != nil {
		return fmt.Errorf("live: bind queue to %s: %w", h.cfg.Exchange, err)
	}
	if err := ch.Qos(prefetch, 0, false); err != nil {
		return fmt.Errorf("live: set prefetch: %w", err)
	}
	deliveries, err := ch.Consume(q.Name, "live-"+h.instance, false, true, false, false, nil)
	if err != nil {
		return fmt.Errorf("live: consume %s: %w", q.Name, err)
	}
	h.subscribed.Store(true)
	defer h.subscribed.Store(false)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case d, ok := <-deliveries:
			if !ok {
				return errors.New("live: the broker closed the subscription")
			}
			mac, _ := d.Headers[headerMAC].(string)
			h.receive(d.Body, mac)
			if err := d.Ack(false); err != nil {
				return fmt.Errorf("live: ack: %w", err)
			}
		}
	}
}

// headerMAC carries a publication's HMAC, in base64url.
const headerMAC = "x-scs-mac"

// mac authenticates a publication as one of scs-chat's instances.
func (h *Hub) mac(body []byte) string {
	m := hmac.New(sha256.New, h.cfg.Key)
	m.Write(body)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// refused counts a publication that no instance made, and says so now and
// then: someone who can publish to the exchange is trying something.
func (h *Hub) refused() {
	n := h.m.forged.Add(1)
	if h.refusedLog.due() {
		h.logger.Warn("live: dropping publications that no instance of scs-chat made (no or a wrong MAC, old, or seen before)", "refused_total", n)
	}
}

// maxSkew is how far ahead of this instance's clock another instance's may be.
const maxSkew = 5 * time.Second

// fresh reports whether e is new: made within the queue's TTL (nothing older
// can be in the queue) and after every publication seen from its instance.
// Only the subscriber's goroutine calls it.
func (h *Hub) fresh(e envelope) bool {
	now := time.Now()
	at := time.UnixMilli(e.At)
	if at.Before(now.Add(-queueTTL)) || at.After(now.Add(maxSkew)) {
		return false
	}
	if last, ok := h.seen[e.Instance]; ok && e.Seq <= last.seq {
		return false
	}
	if len(h.seen) > 64 {
		// Instances come and go (each start is a new one); one unheard of for
		// a TTL can send nothing that is still fresh.
		for id, s := range h.seen {
			if now.Sub(s.at) > queueTTL+maxSkew {
				delete(h.seen, id)
			}
		}
	}
	h.seen[e.Instance] = seenInstance{seq: e.Seq, at: now}
	return true
}

// seenInstance is the newest publication seen from an instance.
type seenInstance struct {
	seq uint64
	at  time.Time
}

// receive handles one publication from the exchange, whose MAC header is mac:
// one that no instance made, or made earlier (see fresh), is refused.
func (h *Hub) receive(body []byte, mac string) {
	if !hmac.Equal([]byte(mac), []byte(h.mac(body))) {
		h.refused()
		return
	}
	var e envelope
	if err := json.Unmarshal(body, &e); err != nil {
		h.logger.Warn("live: ignoring an unreadable publication", "err", err, "body", truncate(string(body), 200))
		return
	}
	if e.Instance == h.instance {
		return
	}
	if !h.fresh(e) {
		h.refused()
		return
	}
	switch {
	case e.Close != nil:
		h.CloseLocal(e.Close.User, e.Close.Reason)
	case len(e.To) > 0 && checkFrame(e.Frame) == nil:
		h.m.remoteFrames.Add(1)
		h.deliverLocal(e.To, e.Frame)
	default:
		h.logger.Warn("live: ignoring a publication without recipients or frame", "from_instance", e.Instance)
	}
}
