package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/broker"
	"github.com/scs-platform/shared-events/eventing/topology"
	"github.com/scs-platform/shared-events/runtime/telemetry"
)

// tracerName names the instrumentation of the relay's spans.
const tracerName = "github.com/scs-platform/shared-events/eventing/outbox"

// HeaderPublisher names the relay instance that published a message.
const HeaderPublisher = "x-scs-publisher"

// advisoryLockRelay elects the one relay per PostgreSQL database that publishes.
const advisoryLockRelay = 7366023

// Relay publishes an owner's outbox to its exchange.
type Relay struct {
	Outbox *Outbox
	// Owner names the exchange: "users" publishes to "users.events".
	Owner  string
	Broker *broker.Runner
	Logger *slog.Logger
	// Window bounds the messages published but not yet confirmed (default 256).
	Window int
	// ConfirmTimeout is how long the relay waits for a confirm before it gives the
	// channel up and publishes the unconfirmed rows again (default 10 s).
	ConfirmTimeout time.Duration
	// PollInterval is the fallback for commits that did not wake the relay, such as
	// those of another process on the same SQLite file (default 1 s).
	PollInterval time.Duration
	// LeaderCheck is how often a PostgreSQL leader with nothing to do proves that
	// it still holds its lock (default 5 s). A connection that died without a word
	// (a failover behind a virtual IP, a NAT that forgot it) is found out this way
	// rather than minutes later by TCP keepalive.
	LeaderCheck time.Duration
	// Instance, if set, is put in each message's x-scs-publisher header, so that an
	// operator (and a test) can tell which instance published a message.
	Instance string

	standby   atomic.Bool
	published prometheus.Counter
	failures  *prometheus.CounterVec
	initOnce  sync.Once
}

func (r *Relay) init() {
	r.initOnce.Do(func() {
		if r.Window <= 0 {
			r.Window = 256
		}
		if r.ConfirmTimeout <= 0 {
			r.ConfirmTimeout = 10 * time.Second
		}
		if r.PollInterval <= 0 {
			r.PollInterval = time.Second
		}
		if r.LeaderCheck <= 0 {
			r.LeaderCheck = 5 * time.Second
		}
		if r.Logger == nil {
			r.Logger = slog.New(slog.DiscardHandler)
		}
		r.published = prometheus.NewCounter(prometheus.CounterOpts{
			Name: "outbox_published_total", Help: "Events published and confirmed by the broker.",
		})
		r.failures = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "outbox_publish_failures_total", Help: "Publishes that must be repeated, by reason (nack, timeout, error).",
		}, []string{"reason"})
	})
}

// Describe implements prometheus.Collector.
func (r *Relay) Describe(ch chan<- *prometheus.Desc) {
	r.init()
	r.published.Describe(ch)
	r.failures.Describe(ch)
}

// Collect implements prometheus.Collector.
func (r *Relay) Collect(ch chan<- prometheus.Metric) {
	r.init()
	r.published.Collect(ch)
	r.failures.Collect(ch)
}

// Ready is nil while the relay can do its work: it leads and is connected to the
// broker, or it stands by because another instance on the same PostgreSQL leads.
func (r *Relay) Ready() error {
	if r.standby.Load() || r.Broker.Connected() {
		return nil
	}
	if err := r.Broker.LastError(); err != nil {
		return fmt.Errorf("not connected to the broker: %w", err)
	}
	return fmt.Errorf("not connected to the broker yet")
}

// Run publishes until ctx ends. On PostgreSQL it first waits to become the one
// leader among the instances sharing the database.
func (r *Relay) Run(ctx context.Context) error {
	r.init()
	for ctx.Err() == nil {
		r.standby.Store(true)
		leaderCtx, release, err := r.lead(ctx)
		r.standby.Store(false)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			r.Logger.Warn("outbox relay cannot take leadership; retrying", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		if n, err := r.Outbox.SignStored(leaderCtx); err != nil {
			r.Logger.Warn("outbox relay cannot sign the rows stored before signatures; they go unsigned, and consumers refuse them", "err", err)
		} else if n > 0 {
			r.Logger.Info("outbox relay signed the rows stored before signatures", "rows", n)
		}
		_ = r.Broker.Run(leaderCtx, r.session)
		release()
		if ctx.Err() == nil {
			r.Logger.Warn("outbox relay lost leadership; standing by")
		}
	}
	return nil
}

// lead returns a context that lives while this relay may publish.
//
// On PostgreSQL the leader holds a session-level advisory lock on a dedicated
// connection and LISTENs on that connection for commits of any instance. If the
// connection dies, the lock is gone and the context is cancelled, so that a relay
// never goes on publishing after another may have taken over.
//
// SQLite is a single-instance database: the relay leads at once.
func (r *Relay) lead(ctx context.Context) (context.Context, func(), error) {
	if r.Outbox.db.Dialect != sqldb.Postgres {
		leaderCtx, cancel := context.WithCancel(ctx)
		return leaderCtx, cancel, nil
	}
	conn, err := r.Outbox.db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	closeConn := func() {
		// Close the physical connection, not just return it to the pool: that is what
		// releases the advisory lock even if the unlock is never sent.
		_ = conn.Raw(func(dc any) error { return dc.(*stdlib.Conn).Close() })
		_ = conn.Close()
	}
	for {
		var got bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, advisoryLockRelay).Scan(&got); err != nil {
			closeConn()
			return nil, nil, fmt.Errorf("outbox: try lock: %w", err)
		}
		if got {
			break
		}
		if !sleep(ctx, time.Second) {
			closeConn()
			return nil, nil, ctx.Err()
		}
	}
	if _, err := conn.ExecContext(ctx, `LISTEN `+notifyChannel); err != nil {
		closeConn()
		return nil, nil, fmt.Errorf("outbox: listen: %w", err)
	}
	r.Logger.Info("outbox relay is the leader")
	leaderCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cancel()
		err := conn.Raw(func(dc any) error {
			pc := dc.(*stdlib.Conn).Conn()
			for {
				waitCtx, cancelWait := context.WithTimeout(leaderCtx, r.LeaderCheck)
				_, err := pc.WaitForNotification(waitCtx)
				cancelWait()
				switch {
				case err == nil:
					r.Outbox.Wake()
					continue
				case leaderCtx.Err() != nil || waitCtx.Err() == nil:
					return err
				}
				checkCtx, cancelCheck := context.WithTimeout(leaderCtx, 3*time.Second)
				var held bool
				err = pc.QueryRow(checkCtx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
					AND classid = 0 AND objid::bigint = $1 AND objsubid = 1 AND pid = pg_backend_pid() AND granted)`,
					advisoryLockRelay).Scan(&held)
				cancelCheck()
				if err != nil {
					return fmt.Errorf("check the leader's lock: %w", err)
				}
				if !held {
					return errors.New("the leader's advisory lock is no longer held")
				}
			}
		})
		if leaderCtx.Err() == nil {
			r.Logger.Warn("outbox relay lost its leadership connection", "err", err)
		}
	}()
	return leaderCtx, func() {
		cancel()
		<-done
		closeConn()
	}, nil
}

type inflight struct {
	seq     int64
	confirm *amqp.DeferredConfirmation
}

// session publishes on one connection. Any failure ends it; the runner dials again
// and the next session starts over from the first unsent row.
func (r *Relay) session(ctx context.Context, conn *amqp.Connection) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("outbox: open channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		return fmt.Errorf("outbox: confirm mode: %w", err)
	}
	if err := topology.DeclareExchange(ch, r.Owner); err != nil {
		return err
	}
	exchange := topology.Exchange(r.Owner)
	poll := time.NewTicker(r.PollInterval)
	defer poll.Stop()

	var pending []inflight
	var cursor int64
	for {
		fetched := 0
		if room := r.Window - len(pending); room > 0 {
			events, err := r.Outbox.unsent(ctx, cursor, room)
			if err != nil {
				return err
			}
			for _, ev := range events {
				dc, err := r.publish(ctx, ch, exchange, ev)
				if err != nil {
					r.failures.WithLabelValues("error").Inc()
					return err
				}
				pending = append(pending, inflight{ev.Sequence, dc})
				cursor = ev.Sequence
			}
			fetched = len(events)
		}
		if len(pending) == 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-r.Outbox.wake:
			case <-poll.C:
			}
			continue
		}
		// Block for the oldest confirm only when there is nothing new to publish or
		// the window is full; otherwise keep the pipeline busy.
		block := fetched == 0 || len(pending) >= r.Window
		n, err := r.settle(ctx, pending, block)
		if err != nil {
			return err
		}
		pending = pending[n:]
	}
}

func (r *Relay) publish(ctx context.Context, ch *amqp.Channel, exchange string, ev cloudevent.Event) (*amqp.DeferredConfirmation, error) {
	body, err := ev.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("outbox: encode row %d: %w", ev.Sequence, err)
	}
	msg := amqp.Publishing{
		ContentType:  cloudevent.ContentType,
		DeliveryMode: amqp.Persistent,
		MessageId:    ev.ID,
		Type:         ev.Type,
		Timestamp:    ev.Time,
		Body:         body,
	}
	traceParent := ev.TraceParent
	if traceParent != "" {
		// The publish is a span of the event's trace, and the header names it, so
		// that the consumer's span hangs below the hop through the broker. The
		// event itself keeps the traceparent of its cause. An event without one
		// (from a background job) gets no span: it would be a trace of one span.
		var span trace.Span
		ctx, span = otel.Tracer(tracerName).Start(telemetry.ContextWithTraceParent(ctx, traceParent), "publish "+exchange,
			trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(
				semconv.MessagingSystemRabbitMQ,
				semconv.MessagingOperationTypeSend,
				semconv.MessagingOperationName("publish"),
				semconv.MessagingDestinationName(exchange),
				semconv.MessagingRabbitMQDestinationRoutingKey(ev.Type),
				semconv.MessagingMessageID(ev.ID),
				semconv.CloudEventsEventType(ev.Type),
			))
		defer span.End()
		if tp := telemetry.TraceParent(ctx); tp != "" {
			traceParent = tp
		}
	}
	if traceParent != "" || r.Instance != "" {
		msg.Headers = amqp.Table{}
		if traceParent != "" {
			msg.Headers["traceparent"] = traceParent
		}
		if r.Instance != "" {
			msg.Headers[HeaderPublisher] = r.Instance
		}
	}
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, exchange, ev.Type, false, false, msg)
	if err != nil {
		err = fmt.Errorf("outbox: publish row %d: %w", ev.Sequence, err)
		span := trace.SpanFromContext(ctx)
		span.RecordError(err)
		span.SetStatus(codes.Error, "publish failed")
		return nil, err
	}
	return dc, nil
}

// settle marks the confirmed prefix of pending as sent and returns its length.
// A nack or a confirm that takes longer than ConfirmTimeout ends the session.
func (r *Relay) settle(ctx context.Context, pending []inflight, block bool) (int, error) {
	if block {
		timer := time.NewTimer(r.ConfirmTimeout)
		defer timer.Stop()
		select {
		case <-pending[0].confirm.Done():
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-timer.C:
			r.failures.WithLabelValues("timeout").Inc()
			return 0, fmt.Errorf("outbox: no confirm for row %d within %s", pending[0].seq, r.ConfirmTimeout)
		}
	}
	n := 0
	var nacked error
	for n < len(pending) {
		select {
		case <-pending[n].confirm.Done():
		default:
			goto mark
		}
		if !pending[n].confirm.Acked() {
			r.failures.WithLabelValues("nack").Inc()
			nacked = fmt.Errorf("outbox: broker did not confirm row %d", pending[n].seq)
			goto mark
		}
		n++
	}
mark:
	if n > 0 {
		if err := r.Outbox.markSent(ctx, pending[0].seq, pending[n-1].seq); err != nil {
			return 0, err
		}
		r.published.Add(float64(n))
	}
	return n, nacked
}

// sleep waits for d or ctx, and reports whether ctx is still alive.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
