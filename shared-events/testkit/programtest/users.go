package programtest

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/eventing/feed"
	"github.com/scs-platform/shared-events/identity/authn"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

// Users stands in for scs-users before a system that replicates it (chat,
// cards) starts: its exchange in the test's virtual host, and its catch-up
// feed, signed with the development key, holding one registered user (Ada)
// and the key that signs her token.
type Users struct {
	// FeedURL and FeedToken are the system's USERS_FEED_URL and
	// USERS_FEED_TOKEN.
	FeedURL, FeedToken string
	// UserID is Ada's; DisplayName her name; Token her session token, for
	// the audience http://localhost:8080 (the systems' default PUBLIC_URL).
	UserID, DisplayName, Token string
}

// StandInUsers declares users.events on the test's broker (servicetest.AMQP)
// and serves the feed until the test ends.
func StandInUsers(t *testing.T) Users {
	t.Helper()
	// scs-users declares its exchange; without it, a consumer waits for it.
	ch, err := servicetest.AMQP(t).Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare("users.events", amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	ch.Close()

	u := Users{FeedToken: "test-token", UserID: "01a19b53-741b-74c0-9095-71d6b11f635f", DisplayName: "Ada Lovelace"}
	now := time.Now().UTC()
	registered, err := contracts.NewEvent(contracts.UserRegisteredV1{UserSnapshot: contracts.UserSnapshot{
		UserID: u.UserID, DisplayName: u.DisplayName, Role: contracts.RoleUser, Status: contracts.StatusActive,
		TokensValidAfter: now.Add(-time.Minute),
	}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	registered.Sequence = 1
	public, private, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	key, err := contracts.NewEvent(contracts.SigningKeyPublishedV1{KeyID: "k1", Algorithm: contracts.AlgorithmEdDSA,
		PublicKey: base64.RawURLEncoding.EncodeToString(public), NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}, 1)
	if err != nil {
		t.Fatal(err)
	}
	key.Sequence = 2
	u.Token, err = authn.Sign(private, authn.Claims{KeyID: "k1", UserID: u.UserID, SessionID: "01a19b53-741b-74c0-9095-71d6b11f6360",
		Role: contracts.RoleUser, Audience: "http://localhost:8080", IssuedAt: now, ExpiresAt: now.Add(10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	signer := eventsig.DevelopmentSigner("users")
	srv := httptest.NewServer(feed.Handler(servicetest.SignedFeed(fixedFeed{registered, key}, signer), signer, slog.New(slog.DiscardHandler), u.FeedToken))
	t.Cleanup(srv.Close)
	u.FeedURL = srv.URL
	return u
}

// fixedFeed is a feed.Source of a fixed history.
type fixedFeed []cloudevent.Event

func (f fixedFeed) Read(_ context.Context, after int64, limit int) ([]cloudevent.Event, int64, error) {
	var out []cloudevent.Event
	for _, ev := range f {
		if ev.Sequence > after && len(out) < limit {
			out = append(out, ev)
		}
	}
	return out, int64(len(f)), nil
}
