// Package broker connects to RabbitMQ and keeps a piece of work running across
// connection losses: the relay and the consumers each run inside Run, which dials,
// runs them, and dials again with back-off when the broker closes the connection
// or restarts.
package broker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Dial opens a connection named name (shown in the management UI) within timeout.
// The error says in plain words which broker could not be reached.
//
// An amqps:// URL connects over TLS 1.2 or later and verifies the broker's
// certificate against the CA certificates (PEM) of the file its cacertfile
// parameter names (RabbitMQ's URI parameter, which runtimeconfig sets from
// AMQP_CA_FILE), or else against the system's.
func Dial(ctx context.Context, amqpURL, name string) (*amqp.Connection, error) {
	cfg := amqp.Config{
		Heartbeat:  10 * time.Second,
		Locale:     "en_US",
		Properties: amqp.NewConnectionProperties(),
		Dial:       amqp.DefaultDial(5 * time.Second),
	}
	cfg.Properties.SetClientConnectionName(name)
	if u, err := url.Parse(amqpURL); err == nil && u.Scheme == "amqps" {
		tlsConfig, err := TLSConfig(u.Query().Get("cacertfile"))
		if err != nil {
			return nil, &UnreachableError{URL: Redact(amqpURL), Err: err}
		}
		tlsConfig.ServerName = u.Query().Get("server_name_indication")
		cfg.TLSClientConfig = tlsConfig
	}
	type result struct {
		conn *amqp.Connection
		err  error
	}
	done := make(chan result, 1)
	go func() {
		c, err := amqp.DialConfig(amqpURL, cfg)
		done <- result{c, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			var unknown x509.UnknownAuthorityError
			var invalid x509.HostnameError
			switch {
			case errors.As(r.err, &unknown):
				r.err = fmt.Errorf("its TLS certificate is not signed by a CA this system trusts (set AMQP_CA_FILE to the broker's CA): %w", r.err)
			case errors.As(r.err, &invalid):
				r.err = fmt.Errorf("its TLS certificate is not for the host in AMQP_URL: %w", r.err)
			}
			return nil, &UnreachableError{URL: Redact(amqpURL), Err: r.err}
		}
		return r.conn, nil
	case <-ctx.Done():
		go func() {
			if r := <-done; r.conn != nil {
				r.conn.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// TLSConfig is the TLS configuration of a connection to the broker: TLS 1.2 or
// later, verifying the broker's certificate against the CA certificates (PEM)
// in caFile, or the system's if caFile is empty.
func TLSConfig(caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read the CA file: %w", err)
	}
	cfg.RootCAs = x509.NewCertPool()
	if !cfg.RootCAs.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	return cfg, nil
}

// UnreachableError is a broker that did not accept a connection.
type UnreachableError struct {
	URL string
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach RabbitMQ at %s: %v", e.URL, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Redact removes the password from an AMQP URL so that it can be logged.
func Redact(amqpURL string) string {
	u, err := url.Parse(amqpURL)
	if err != nil {
		return "(unparseable AMQP URL)"
	}
	return u.Redacted()
}

// Session is work that runs on one connection until it fails or ctx ends. The
// runner closes the connection, and with it the session's channels, afterwards.
type Session func(ctx context.Context, conn *amqp.Connection) error

// Runner keeps a Session running: it dials, runs the session, and after a
// connection loss or a session error dials again with exponential back-off and
// jitter (100 ms doubling up to MaxBackoff). Connected reports whether a session
// is currently running on a live connection, for readiness checks.
type Runner struct {
	URL        string
	Name       string
	Logger     *slog.Logger
	MaxBackoff time.Duration

	connected atomic.Bool
	lastErr   atomic.Pointer[error]
}

// Connected reports whether the runner holds a live connection.
func (r *Runner) Connected() bool { return r.connected.Load() }

// LastError is why the last session ended, or nil if none has. Readiness shows it,
// so that an operator sees "PRECONDITION_FAILED" or "connection refused" rather
// than a bare "not connected".
func (r *Runner) LastError() error {
	if p := r.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Run blocks until ctx ends. It returns nil on cancellation: there is no error a
// caller could handle that reconnecting would not.
func (r *Runner) Run(ctx context.Context, session Session) error {
	maxBackoff := r.MaxBackoff
	if maxBackoff <= 0 {
		maxBackoff = 10 * time.Second
	}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		started := time.Now()
		err := r.runOnce(ctx, session)
		if ctx.Err() != nil {
			return nil
		}
		r.lastErr.Store(&err)
		// A session that ran for a while was healthy: start the back-off afresh.
		if time.Since(started) > 30*time.Second {
			backoff = 100 * time.Millisecond
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		r.Logger.Warn("broker session ended; reconnecting", "name", r.Name, "err", err, "retry_in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(backoff*2, maxBackoff)
	}
	return nil
}

func (r *Runner) runOnce(ctx context.Context, session Session) error {
	conn, err := Dial(ctx, r.URL, r.Name)
	if err != nil {
		return err
	}
	// Closing the connection closes every channel of the session, so sessions leave
	// their channels to this. The deadline matters: a broker that never answers the
	// close (seen when a quorum queue was busy) must not hold up a shutdown.
	defer func() { _ = conn.CloseDeadline(time.Now().Add(5 * time.Second)) }()
	sessCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	go func() {
		select {
		case <-closed:
			cancel()
		case <-sessCtx.Done():
			// On shutdown, close the connection now rather than after the session
			// returns: a publish blocked by a broker alarm only ends when its socket
			// does, and the deadline sees to that.
			if ctx.Err() != nil {
				_ = conn.CloseDeadline(time.Now().Add(5 * time.Second))
			}
		}
	}()
	r.connected.Store(true)
	defer r.connected.Store(false)
	err = session(sessCtx, conn)
	if err == nil && ctx.Err() == nil {
		err = errors.New("session returned")
	}
	if conn.IsClosed() && sessCtx.Err() != nil && ctx.Err() == nil {
		err = fmt.Errorf("connection closed: %w", err)
	}
	return err
}
