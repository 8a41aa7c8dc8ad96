// Package trust attacks the running platform through the broker, as whoever
// holds a broker credential would: here the broker's administrator on the
// platform's virtual host, the strongest such attacker, who may publish to
// every exchange. Each test is one attack of issue 12's list; each fails on a
// platform that applies what the broker hands it, and passes on one whose
// consumers apply only what the owner signed and its contract allows.
package trust

import (
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/eventing/eventsig"
	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/e2e/platform"
)

func TestMain(m *testing.M) {
	code := m.Run()
	platform.Cleanup()
	os.Exit(code)
}

// user is an account driven over HTTP through the front door.
type user struct {
	id, email, password string
	jar                 *cookiejar.Jar
}

func (u *user) client() *http.Client {
	return &http.Client{Jar: u.jar, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (u *user) post(t *testing.T, target string, form url.Values) int {
	t.Helper()
	resp, err := u.client().PostForm(target, form)
	if err != nil {
		t.Fatalf("POST %s: %v", target, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func signUp(t *testing.T, base, name string) *user {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	u := &user{email: strings.ToLower(name) + "@example.com", password: "correct horse battery staple " + name, jar: jar}
	if status := u.post(t, base+"/users/signup", url.Values{"email": {u.email}, "display_name": {name}, "password": {u.password}}); status != http.StatusSeeOther {
		t.Fatalf("sign up %s: status %d", name, status)
	}
	u.id = u.subject(t, base)
	return u
}

func (u *user) logIn(t *testing.T, base string) {
	t.Helper()
	u.jar, _ = cookiejar.New(nil)
	if status := u.post(t, base+"/users/login", url.Values{"email": {u.email}, "password": {u.password}}); status != http.StatusSeeOther {
		t.Fatalf("log in %s: status %d", u.email, status)
	}
}

// subject reads the user id from the session token's claims.
func (u *user) subject(t *testing.T, base string) string {
	t.Helper()
	b, _ := url.Parse(base)
	for _, c := range u.jar.Cookies(b) {
		if strings.HasSuffix(c.Name, "scs_session") {
			claims := jwt.MapClaims{}
			if _, _, err := jwt.NewParser().ParseUnverified(c.Value, claims); err != nil {
				t.Fatal(err)
			}
			return claims["sub"].(string)
		}
	}
	t.Fatal("no session cookie after sign-up")
	return ""
}

// get fetches a page with a bare token as the session cookie and returns the
// status (redirects are not followed: a refused token is sent elsewhere).
func get(t *testing.T, target, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, target, nil)
	req.AddCookie(&http.Cookie{Name: "scs_session", Value: token})
	c := &http.Client{Timeout: 15 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (u *user) get(t *testing.T, target string) int {
	t.Helper()
	resp, err := u.client().Get(target)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// replica reads one value from a system's SQLite file without joining in.
func replica(t *testing.T, p *platform.Platform, system, query string, args ...any) string {
	t.Helper()
	db, err := platform.ReadOnly(p.DatabasePath(t, system))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v sql.NullString
	if err := db.QueryRow(query, args...).Scan(&v); err != nil && err != sql.ErrNoRows {
		t.Fatalf("%s: %s: %v", system, query, err)
	}
	return v.String
}

func replicated(t *testing.T, p *platform.Platform, u *user, column, want string) {
	t.Helper()
	for _, system := range []string{"chat", "cards"} {
		servicetest.Eventually(t, 20*time.Second, fmt.Sprintf("%s's %s in %s's replica to be %q", u.email, column, system, want), func() bool {
			return replica(t, p, system, `SELECT `+column+` FROM users_replica WHERE user_id = ?`, u.id) == want
		})
	}
}

// publish puts an event on owner's exchange with the broker administrator's
// credential, as the relay would: persistent, routed by its type, confirmed.
func publish(t *testing.T, amqpURL string, ev cloudevent.Event) {
	t.Helper()
	body, err := ev.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	dc, err := ch.PublishWithDeferredConfirm(ev.Owner()+".events", ev.Type, true, false, amqp.Publishing{
		ContentType: cloudevent.ContentType, DeliveryMode: amqp.Persistent, MessageId: ev.ID, Type: ev.Type, Body: body,
	})
	if err != nil || !dc.Wait() {
		t.Fatalf("publish the forged %s: %v", ev.Type, err)
	}
}

// forge makes an event as its owner would, with a sequence far ahead, and
// signs it with a key of the attacker's own (the owner's key is not the
// attacker's to use: it never leaves the owner).
func forge(t *testing.T, typ, subject string, version int64, data any) cloudevent.Event {
	t.Helper()
	ev, err := cloudevent.New("/scs-"+strings.SplitN(typ, ".", 2)[0], typ, subject, version, data)
	if err != nil {
		t.Fatal(err)
	}
	ev.Sequence = 1_000_000
	seed := make([]byte, 32)
	_, _ = rand.Read(seed)
	signer, err := eventsig.NewSigner(ev.Owner(), seed)
	if err != nil {
		t.Fatal(err)
	}
	if ev, err = signer.Sign(ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// deadLettered waits until each system lists a dead letter of the event,
// refused for reason. A system that never does fails the test but lets it go
// on, so that the test also shows what the forged event did there.
func deadLettered(t *testing.T, p *platform.Platform, ev cloudevent.Event, reason string, systems ...string) {
	t.Helper()
	for _, system := range systems {
		deadline := time.Now().Add(30 * time.Second)
		for {
			out := p.Command(t, system, "deadletters", "list")
			if strings.Contains(out, ev.ID) && strings.Contains(out, reason) {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s did not dead-letter the forged %s within 30s (reason %q)", system, ev.Type, reason)
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

func startPlatform(t *testing.T) (*platform.Platform, *user, *user) {
	p := platform.Start(t, platform.Options{})
	p.WaitReady(t)
	alice, mallory := signUp(t, p.URL, "Alice"), signUp(t, p.URL, "Mallory")
	replicated(t, p, alice, "display_name", "Alice")
	replicated(t, p, mallory, "display_name", "Mallory")
	return p, alice, mallory
}

func snapshot(u *user, name, role, status string) contracts.UserUpdatedV1 {
	return contracts.UserUpdatedV1{
		UserSnapshot: contracts.UserSnapshot{UserID: u.id, DisplayName: name, Role: contracts.Role(role),
			Status: contracts.Status(status), TokensValidAfter: time.Unix(0, 0).UTC()},
		Changes: []contracts.UserChange{contracts.UserChangeRole},
	}
}

func TestAForgedTokenKeyMintsNoTokenThatChatOrCardsAccept(t *testing.T) {
	p, alice, _ := startPlatform(t)
	public, private, _ := ed25519.GenerateKey(rand.Reader)
	kid := "attacker-" + uuid.NewString()[:8]
	now := time.Now().UTC()
	ev := forge(t, contracts.TypeSigningKeyPublishedV1, kid, 1, contracts.SigningKeyPublishedV1{
		KeyID: kid, Algorithm: contracts.AlgorithmEdDSA, PublicKey: base64.RawURLEncoding.EncodeToString(public),
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
	})
	publish(t, p.AMQPURL, ev)
	deadLettered(t, p, ev, "signature:", "chat", "cards")

	origin, _ := url.Parse(p.URL)
	token := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
		"iss": "scs-users", "sub": alice.id, "sid": uuid.NewString(), "role": "admin",
		"aud": origin.Scheme + "://" + origin.Host, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	})
	token.Header["kid"] = kid
	signed, err := token.SignedString(private)
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"/chat/", "/cards/", "/cards/terminal"} {
		if status := get(t, p.URL+page, signed); status == http.StatusOK {
			t.Errorf("GET %s with a token signed by the forged key: %d, want a refusal", page, status)
		}
	}
	if n := replica(t, p, "chat", `SELECT count(*) FROM signing_keys WHERE kid = ?`, kid); n != "0" {
		t.Errorf("chat stored the forged key")
	}
}

func TestAForgedRoleChangeMakesNobodyAnAdmin(t *testing.T) {
	p, _, mallory := startPlatform(t)
	ev := forge(t, contracts.TypeUserUpdatedV1, mallory.id, 50, snapshot(mallory, "Mallory", "admin", "active"))
	publish(t, p.AMQPURL, ev)
	deadLettered(t, p, ev, "signature:", "chat", "cards")
	if got := replica(t, p, "cards", `SELECT role FROM users_replica WHERE user_id = ?`, mallory.id); got != "user" {
		t.Errorf("cards' replica gives Mallory the role %q", got)
	}
	if status := mallory.get(t, p.URL+"/cards/terminal"); status == http.StatusOK {
		t.Errorf("Mallory opens the terminal page: %d", status)
	}
}

func TestAForgedVersionFromTheFutureHoldsBackNoGenuineChange(t *testing.T) {
	p, alice, _ := startPlatform(t)
	admin := signUp(t, p.URL, "Admin")
	p.Command(t, "users", "admin", "grant", admin.email)
	admin.logIn(t, p.URL)

	ev := forge(t, contracts.TypeUserUpdatedV1, alice.id, 1000, snapshot(alice, "Alice", "user", "active"))
	publish(t, p.AMQPURL, ev)
	deadLettered(t, p, ev, "signature:", "chat", "cards")

	if status := admin.post(t, p.URL+"/users/admin/users/"+alice.id+"/ban", url.Values{"reason": {"spam"}}); status != http.StatusSeeOther {
		t.Fatalf("ban Alice: status %d", status)
	}
	replicated(t, p, alice, "status", "banned")
	if status := alice.get(t, p.URL+"/chat/"); status == http.StatusOK {
		t.Errorf("banned Alice still opens chat: %d", status)
	}
}

func TestAForgedNameOf20MBNeverReachesAReplica(t *testing.T) {
	p, alice, _ := startPlatform(t)
	ev := forge(t, contracts.TypeUserUpdatedV1, alice.id, 60, snapshot(alice, strings.Repeat("A", 20<<20), "user", "active"))
	publish(t, p.AMQPURL, ev)
	deadLettered(t, p, ev, "signature:", "chat", "cards")
	replicated(t, p, alice, "display_name", "Alice")
}

// TestEventsThatBreakTheContractAreRefusedEvenSignedByTheOwner plays a
// compromised scs-users (its event key in hand): what it signs still has to
// keep its own published contract before any replica takes it.
func TestEventsThatBreakTheContractAreRefusedEvenSignedByTheOwner(t *testing.T) {
	owner, seed := newSigner(t)
	pinned := map[string]string{"USERS_EVENT_KEYS": owner.PublicKey()}
	p := platform.Start(t, platform.Options{SystemEnv: map[string]map[string]string{
		"users": {"EVENT_SIGNING_KEY": seed}, "chat": pinned, "cards": pinned,
	}})
	p.WaitReady(t)
	alice := signUp(t, p.URL, "Alice")
	replicated(t, p, alice, "display_name", "Alice")
	for i, tc := range []struct {
		snapshot contracts.UserUpdatedV1
		reason   string
	}{
		{snapshot(alice, strings.Repeat("A", 20<<20), "user", "active"), `contract: users.user.updated.v1 event data: field "display_name" has 20971520 characters, more than 50`},
		{snapshot(alice, "Alice", "root", "active"), `contract: users.user.updated.v1 event data: field "role" is "root"`},
	} {
		ev, err := cloudevent.New("/scs-users", contracts.TypeUserUpdatedV1, alice.id, int64(100+i), tc.snapshot)
		if err != nil {
			t.Fatal(err)
		}
		ev.Sequence = 1_000_000
		if ev, err = owner.Sign(ev); err != nil {
			t.Fatal(err)
		}
		publish(t, p.AMQPURL, ev)
		deadLettered(t, p, ev, tc.reason[:min(len(tc.reason), 70)], "chat", "cards")
	}
	for _, column := range []string{"display_name", "role"} {
		want := map[string]string{"display_name": "Alice", "role": "user"}[column]
		replicated(t, p, alice, column, want)
	}
}

func TestAForgedReportNeverReachesTheModerationQueue(t *testing.T) {
	p, alice, mallory := startPlatform(t)
	report := uuid.Must(uuid.NewV7()).String()
	ev := forge(t, contracts.TypeReportFiledV1, report, 1, contracts.ReportFiledV1{
		ReportID: report, ReporterID: mallory.id, ReportedUserID: alice.id, ConversationID: uuid.Must(uuid.NewV7()).String(),
		Reason: "forged", ReportedAt: time.Now().UTC(),
	})
	publish(t, p.AMQPURL, ev)
	deadLettered(t, p, ev, "signature:", "users")
	if n := replica(t, p, "users", `SELECT count(*) FROM reports WHERE id = ?`, report); n != "0" {
		t.Errorf("the forged report is in the moderation queue")
	}
}

// TestRotatingUsersEventKeyOnTheRunningPlatform follows the README's rotation
// of scs-users' event signing key, the root of chat's and cards' trust in
// tokens: pin the new key beside the old one, switch scs-users, drop the old
// key. Replication goes on throughout, a rebuilt replica catches up from a
// feed signed with the new key, and the old key is refused at the end.
func TestRotatingUsersEventKeyOnTheRunningPlatform(t *testing.T) {
	old, oldSeed := newSigner(t)
	next, nextSeed := newSigner(t)
	both := map[string]string{"USERS_EVENT_KEYS": old.PublicKey() + "," + next.PublicKey()}
	p := platform.Start(t, platform.Options{SystemEnv: map[string]map[string]string{
		"users": {"EVENT_SIGNING_KEY": oldSeed}, "chat": both, "cards": both,
	}})
	p.WaitReady(t)
	alice := signUp(t, p.URL, "Alice")
	replicated(t, p, alice, "display_name", "Alice")

	// The owner switches; the consumers hold both keys.
	p.Reconfigure(t, "users", map[string]string{"EVENT_SIGNING_KEY": nextSeed})
	// Its history, which the feed serves, moves to the new key.
	if out := p.Command(t, "users", "eventkey", "resign", old.PublicKey()); !strings.Contains(out, "signed ") || strings.Contains(out, "left ") {
		t.Errorf("eventkey resign said %q", out)
	}
	alice.logIn(t, p.URL)
	if status := alice.post(t, p.URL+"/users/account/name", url.Values{"display_name": {"Alice Two"}}); status != http.StatusSeeOther {
		t.Fatalf("rename: status %d", status)
	}
	replicated(t, p, alice, "display_name", "Alice Two")

	// The consumers drop the old key.
	only := map[string]string{"USERS_EVENT_KEYS": next.PublicKey()}
	p.Reconfigure(t, "chat", only)
	p.Reconfigure(t, "cards", only)
	if status := alice.post(t, p.URL+"/users/account/name", url.Values{"display_name": {"Alice Three"}}); status != http.StatusSeeOther {
		t.Fatalf("rename: status %d", status)
	}
	replicated(t, p, alice, "display_name", "Alice Three")
	if status := alice.get(t, p.URL+"/chat/"); status != http.StatusOK {
		t.Errorf("Alice's token, signed by a token key the old event key vouched for, opens chat: %d, want 200", status)
	}

	// A replica rebuilt from nothing reads the owner's whole history from the
	// feed, now signed with the new key.
	p.Stop(t, "cards")
	db := p.DatabasePath(t, "cards")
	for _, f := range []string{db, db + "-wal", db + "-shm"} {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	p.Restart(t, "cards")
	servicetest.Eventually(t, 30*time.Second, "the rebuilt cards replica to know Alice Three", func() bool {
		return replica(t, p, "cards", `SELECT display_name FROM users_replica WHERE user_id = ?`, alice.id) == "Alice Three"
	})

	// The retired key signs nothing that is applied any more.
	ev, err := cloudevent.New("/scs-users", contracts.TypeUserUpdatedV1, alice.id, 100, snapshot(alice, "Mallory's Alice", "user", "active"))
	if err != nil {
		t.Fatal(err)
	}
	ev.Sequence = 1_000_000
	if ev, err = old.Sign(ev); err != nil {
		t.Fatal(err)
	}
	publish(t, p.AMQPURL, ev)
	deadLettered(t, p, ev, "signed by key \""+old.KeyID()+"\", not one of the pinned keys of users", "chat", "cards")
	replicated(t, p, alice, "display_name", "Alice Three")
}

// newSigner makes a signing key for scs-users, and its seed as
// EVENT_SIGNING_KEY holds it.
func newSigner(t *testing.T) (*eventsig.Signer, string) {
	t.Helper()
	seed := make([]byte, 32)
	_, _ = rand.Read(seed)
	s, err := eventsig.NewSigner("users", seed)
	if err != nil {
		t.Fatal(err)
	}
	return s, base64.StdEncoding.EncodeToString(seed)
}
