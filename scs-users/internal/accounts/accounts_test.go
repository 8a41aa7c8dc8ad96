package accounts_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/outbox"
	"github.com/scs-platform/shared-events/httpkit/ratelimit"
	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/scs-users/internal/accounts"
	"github.com/scs-platform/scs-users/internal/accounts/accountstest"
	"github.com/scs-platform/scs-users/internal/password"
)

const pw = accountstest.Password

// clock is the settable clock of a fixture.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

type fixture struct {
	db     *sqldb.DB
	events *outbox.Outbox
	svc    *accounts.Service
	clock  *clock
	seen   int64 // events before this sequence were looked at
}

func newFixture(t *testing.T, open func(testing.TB) *sqldb.DB) *fixture {
	t.Helper()
	db := open(t)
	svc := accountstest.NewService(t, db)
	c := &clock{t: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)}
	svc.Now = c.Now
	svc.Limiter.(*ratelimit.Limiter).Now = c.Now
	return &fixture{db: db, events: svc.Outbox, clock: c, svc: svc}
}

// forEachBackend runs the test on SQLite and on PostgreSQL.
func forEachBackend(t *testing.T, test func(t *testing.T, f *fixture)) {
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) { test(t, newFixture(t, b.Open)) })
	}
}

var device = accounts.Client{IP: "192.0.2.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}

func (f *fixture) signUp(t *testing.T, email, name string) (accounts.User, accounts.Session) {
	t.Helper()
	u, s, err := f.svc.SignUp(context.Background(), accounts.SignUp{Email: email, DisplayName: name, Password: pw, Client: device})
	if err != nil {
		t.Fatalf("sign up %s: %v", email, err)
	}
	return u, s
}

func (f *fixture) logIn(t *testing.T, email string) accounts.Session {
	t.Helper()
	_, s, err := f.svc.LogIn(context.Background(), accounts.LogIn{Email: email, Password: pw, Client: device})
	if err != nil {
		t.Fatalf("log in %s: %v", email, err)
	}
	return s
}

// newEvents returns the events appended since the last call.
func (f *fixture) newEvents(t *testing.T) []cloudevent.Event {
	t.Helper()
	evs, _, err := f.events.Read(context.Background(), f.seen, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) > 0 {
		f.seen = evs[len(evs)-1].Sequence
	}
	return evs
}

// summary is an event as the tests compare it.
type summary struct {
	Type    string
	Subject string
	Version int64
}

func summarise(evs []cloudevent.Event) []summary {
	var out []summary
	for _, ev := range evs {
		out = append(out, summary{ev.Type, ev.Subject, ev.AggregateVersion})
	}
	return out
}

// sameEvents compares the events published with want, in any order: events
// of different aggregates (a user and their sessions) are not ordered by the
// contract, and the versions order those of one aggregate.
func sameEvents(t *testing.T, what string, got []cloudevent.Event, want ...summary) {
	t.Helper()
	g := summarise(got)
	order := func(a, b summary) int { return strings.Compare(a.Type+a.Subject, b.Type+b.Subject) }
	slices.SortFunc(g, order)
	want = slices.Clone(want)
	slices.SortFunc(want, order)
	if len(g) != len(want) {
		t.Fatalf("%s published %v, want %v", what, g, want)
	}
	for i := range g {
		if g[i] != want[i] {
			t.Fatalf("%s published %v, want %v", what, g, want)
		}
	}
}

func TestSignUp(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u, s := f.signUp(t, " Ada@Example.COM ", "  Ada   Lovelace ")
		if u.Email != "ada@example.com" || u.DisplayName != "Ada Lovelace" || u.Role != contracts.RoleUser ||
			u.Status != contracts.StatusActive || u.Version != 1 {
			t.Errorf("signed up %+v", u)
		}
		if s.UserID != u.ID || s.IP != device.IP || !s.ExpiresAt.Equal(f.clock.Now().Add(12*time.Hour)) {
			t.Errorf("session %+v", s)
		}
		evs := f.newEvents(t)
		sameEvents(t, "sign-up", evs, summary{contracts.TypeUserRegisteredV1, u.ID, 1})
		p, err := contracts.Decode[contracts.UserRegisteredV1](evs[0])
		if err != nil {
			t.Fatal(err)
		}
		if p.DisplayName != "Ada Lovelace" || p.Role != contracts.RoleUser || !p.TokensValidAfter.Equal(f.clock.Now()) {
			t.Errorf("registered %+v", p)
		}

		_, _, err = f.svc.SignUp(ctx, accounts.SignUp{Email: "ADA@example.com", DisplayName: "Imposter", Password: pw, Client: device})
		var errs accounts.FieldErrors
		if !errors.As(err, &errs) || errs["email"] == "" {
			t.Errorf("second sign-up with the address: %v, want a field error on email", err)
		}
		if evs := f.newEvents(t); len(evs) != 0 {
			t.Errorf("a refused sign-up published %v", summarise(evs))
		}
	})
}

func TestSignUpRefusesBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t, servicetest.SQLite)
	for _, tc := range []struct {
		name, email, display, password, field string
	}{
		{"no email", "", "Ada", pw, "email"},
		{"not an email", "ada.example.com", "Ada", pw, "email"},
		{"email with a name", "Ada <ada@example.com>", "Ada", pw, "email"},
		{"no dot in the domain", "ada@localhost", "Ada", pw, "email"},
		{"no name", "ada@example.com", "   ", pw, "display_name"},
		{"name too long", "ada@example.com", string(make([]rune, 51, 51)), pw, "display_name"},
		{"name with a right-to-left override", "ada@example.com", "Ada\u202eecilA", pw, "display_name"},
		{"name with a control character", "ada@example.com", "Ada\x07", pw, "display_name"},
		{"short password", "ada@example.com", "Ada", "seven77", "password"},
		{"common password", "ada@example.com", "Ada", "iloveyou", "password"},
		{"password is the email", "ada@example.com", "Ada", "ada@example.com", "password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := f.svc.SignUp(context.Background(), accounts.SignUp{Email: tc.email, DisplayName: tc.display, Password: tc.password, Client: device})
			var errs accounts.FieldErrors
			if !errors.As(err, &errs) || errs[tc.field] == "" {
				t.Fatalf("SignUp = %v, want a field error on %s", err, tc.field)
			}
		})
	}
	if evs := f.newEvents(t); len(evs) != 0 {
		t.Errorf("refused sign-ups published %v", summarise(evs))
	}
}

func TestLogIn(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u, first := f.signUp(t, "ada@example.com", "Ada")
		f.newEvents(t)

		s := f.logIn(t, "ADA@example.com")
		if s.ID == first.ID || s.UserID != u.ID {
			t.Errorf("login session %+v, want a new session of %s", s, u.ID)
		}
		for name, in := range map[string]accounts.LogIn{
			"wrong password": {Email: "ada@example.com", Password: "correct horse battery stapler"},
			"unknown email":  {Email: "nobody@example.com", Password: pw},
		} {
			if _, _, err := f.svc.LogIn(ctx, in); !errors.Is(err, accounts.ErrInvalidCredentials) {
				t.Errorf("%s: %v, want ErrInvalidCredentials", name, err)
			}
		}
		var errs accounts.FieldErrors
		if _, _, err := f.svc.LogIn(ctx, accounts.LogIn{}); !errors.As(err, &errs) || errs["email"] == "" || errs["password"] == "" {
			t.Errorf("empty login form: %v, want field errors on email and password", err)
		}

		// Logging in from a browser that holds a session ends that session.
		_, _, err := f.svc.LogIn(ctx, accounts.LogIn{Email: "ada@example.com", Password: pw, Previous: s.ID})
		if err != nil {
			t.Fatal(err)
		}
		sameEvents(t, "login over a session", f.newEvents(t), summary{contracts.TypeSessionRevokedV1, s.ID, 1})
	})
}

func TestLoginLimits(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.signUp(t, "ada@example.com", "Ada")
		// A user's own successful logins never count against them.
		for range 8 {
			f.logIn(t, "ada@example.com")
		}
		wrong := accounts.LogIn{Email: "ada@example.com", Password: "not the password at all", Client: device}
		for i := range 5 {
			if _, _, err := f.svc.LogIn(ctx, wrong); !errors.Is(err, accounts.ErrInvalidCredentials) {
				t.Fatalf("wrong password %d: %v", i+1, err)
			}
		}
		_, _, err := f.svc.LogIn(ctx, wrong)
		var limited *accounts.RateLimited
		if !errors.As(err, &limited) || limited.RetryAfterSeconds() != 60 {
			t.Fatalf("sixth wrong password: %v, want RateLimited for 60 s", err)
		}
		// The right password is refused too while the account's bucket is full:
		// that is the point of the limit.
		right := accounts.LogIn{Email: "ada@example.com", Password: pw, Client: accounts.Client{IP: "198.51.100.1"}}
		if _, _, err := f.svc.LogIn(ctx, right); !errors.As(err, &limited) {
			t.Fatalf("right password while limited: %v, want RateLimited", err)
		}
		f.clock.Advance(time.Minute)
		if _, _, err := f.svc.LogIn(ctx, right); err != nil {
			t.Fatalf("right password a minute later: %v", err)
		}
		// An unknown address is limited exactly like a known one.
		ghost := accounts.LogIn{Email: "ghost@example.com", Password: "whatever it is here", Client: accounts.Client{IP: "203.0.113.9"}}
		for range 5 {
			_, _, _ = f.svc.LogIn(ctx, ghost)
		}
		if _, _, err := f.svc.LogIn(ctx, ghost); !errors.As(err, &limited) {
			t.Fatalf("sixth attempt on an unknown address: %v, want RateLimited", err)
		}
	})
}

func TestLoginPerIPLimitCountsIPv6Networks(t *testing.T) {
	t.Parallel()
	f := newFixture(t, servicetest.SQLite)
	f.svc.Limits.LoginPerIP = ratelimit.Rate{Burst: 3, Every: time.Hour}
	ctx := context.Background()
	for i, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"} {
		in := accounts.LogIn{Email: "user" + string(rune('a'+i)) + "@example.com", Password: "not a password here", Client: accounts.Client{IP: ip}}
		if _, _, err := f.svc.LogIn(ctx, in); !errors.Is(err, accounts.ErrInvalidCredentials) {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	_, _, err := f.svc.LogIn(ctx, accounts.LogIn{Email: "userz@example.com", Password: "not a password here", Client: accounts.Client{IP: "2001:db8:1:2:abcd::9"}})
	var limited *accounts.RateLimited
	if !errors.As(err, &limited) {
		t.Fatalf("fourth attempt from the same /64: %v, want RateLimited", err)
	}
	if _, _, err := f.svc.LogIn(ctx, accounts.LogIn{Email: "userz@example.com", Password: "not a password here", Client: accounts.Client{IP: "2001:db8:1:3::1"}}); errors.As(err, &limited) {
		t.Errorf("another /64 was limited too")
	}
}

func TestSignUpLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, servicetest.SQLite)
	ctx := context.Background()
	for i := range 5 {
		f.signUp(t, "user"+string(rune('a'+i))+"@example.com", "User")
	}
	_, _, err := f.svc.SignUp(ctx, accounts.SignUp{Email: "late@example.com", DisplayName: "Late", Password: pw, Client: device})
	var limited *accounts.RateLimited
	if !errors.As(err, &limited) {
		t.Fatalf("sixth sign-up: %v, want RateLimited", err)
	}
	// A form with mistakes costs nothing.
	f.clock.Advance(10 * time.Minute)
	_, _, err = f.svc.SignUp(ctx, accounts.SignUp{Email: "bad", DisplayName: "Late", Password: pw, Client: device})
	var errs accounts.FieldErrors
	if !errors.As(err, &errs) {
		t.Fatalf("bad form: %v", err)
	}
	f.signUp(t, "late@example.com", "Late")
}

func TestResume(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u, s := f.signUp(t, "ada@example.com", "Ada")
		issued := f.clock.Now()

		got, gu, err := f.svc.Resume(ctx, s.ID, u.ID, issued, contracts.RoleUser, device)
		if err != nil || got.ID != s.ID || gu.ID != u.ID {
			t.Fatalf("Resume = %+v, %+v, %v", got, gu, err)
		}
		if _, _, err := f.svc.Resume(ctx, s.ID, "01a2378a-0819-7e14-8ad1-eb42cc5b55dc", issued, contracts.RoleUser, device); !errors.Is(err, accounts.ErrSessionEnded) {
			t.Errorf("Resume as another user: %v, want ErrSessionEnded", err)
		}
		if _, _, err := f.svc.Resume(ctx, "0b6f4b0c-5ad5-4d4f-9a55-1d3c0b1f0000", u.ID, issued, contracts.RoleUser, device); !errors.Is(err, accounts.ErrSessionEnded) {
			t.Errorf("Resume of an unknown session: %v, want ErrSessionEnded", err)
		}

		// Activity keeps it alive past the idle timeout…
		for range 3 {
			f.clock.Advance(50 * time.Minute)
			moved := accounts.Client{IP: "198.51.100.4", UserAgent: device.UserAgent}
			got, _, err := f.svc.Resume(ctx, s.ID, u.ID, issued, contracts.RoleUser, moved)
			if err != nil {
				t.Fatalf("Resume after 50 minutes of quiet: %v", err)
			}
			if !got.LastSeen.Equal(f.clock.Now()) || got.IP != moved.IP {
				t.Errorf("Resume did not touch the session: %+v", got)
			}
		}
		// …but an hour of quiet ends it.
		f.clock.Advance(time.Hour)
		if _, _, err := f.svc.Resume(ctx, s.ID, u.ID, issued, contracts.RoleUser, device); !errors.Is(err, accounts.ErrSessionEnded) {
			t.Errorf("Resume after an idle hour: %v, want ErrSessionEnded", err)
		}
		sessions, err := f.svc.Sessions(ctx, u.ID)
		if err != nil || len(sessions) != 0 {
			t.Errorf("Sessions lists %+v, %v; want the idle session gone", sessions, err)
		}
	})
}

func TestSessionMaxAge(t *testing.T) {
	t.Parallel()
	f := newFixture(t, servicetest.SQLite)
	ctx := context.Background()
	u, s := f.signUp(t, "ada@example.com", "Ada")
	// Busy every half hour, well within the idle timeout, for a day.
	var endedAfter time.Duration
	for range 48 {
		f.clock.Advance(30 * time.Minute)
		if _, _, err := f.svc.Resume(ctx, s.ID, u.ID, f.clock.Now(), contracts.RoleUser, device); err != nil {
			if !errors.Is(err, accounts.ErrSessionEnded) {
				t.Fatal(err)
			}
			endedAfter = f.clock.Now().Sub(s.CreatedAt)
			break
		}
	}
	if endedAfter != 12*time.Hour {
		t.Fatalf("an active session ended after %s, want exactly the maximum age of 12h (0: it never ended)", endedAfter)
	}
}

func TestRenewal(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u, s := f.signUp(t, "ada@example.com", "Ada")
		issued := f.clock.Now()
		f.newEvents(t)
		f.clock.Advance(time.Second)
		if err := f.svc.SetRole(ctx, "", u.ID, contracts.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		sameEvents(t, "role change", f.newEvents(t), summary{contracts.TypeUserUpdatedV1, u.ID, 2})

		// Two requests racing with the old token both end up in one new session.
		var wg sync.WaitGroup
		results := make([]accounts.Session, 4)
		errs := make([]error, 4)
		for i := range results {
			wg.Go(func() { results[i], _, errs[i] = f.svc.Resume(ctx, s.ID, u.ID, issued, contracts.RoleUser, device) })
		}
		wg.Wait()
		for i := range results {
			if errs[i] != nil {
				t.Fatalf("racing Resume %d: %v", i, errs[i])
			}
			if results[i].ID == s.ID || results[i].ID != results[0].ID {
				t.Fatalf("racing Resumes gave sessions %s, %s; want one new session", results[0].ID, results[i].ID)
			}
		}
		sameEvents(t, "renewal", f.newEvents(t), summary{contracts.TypeSessionRevokedV1, s.ID, 1})
		if !results[0].ExpiresAt.Equal(s.ExpiresAt) {
			t.Errorf("the renewed session ends at %s, want the old one's end %s", results[0].ExpiresAt, s.ExpiresAt)
		}
		// After the grace, the old token no longer leads anywhere.
		f.clock.Advance(2 * time.Minute)
		if _, _, err := f.svc.Resume(ctx, s.ID, u.ID, issued, contracts.RoleUser, device); !errors.Is(err, accounts.ErrSessionEnded) {
			t.Errorf("old session after the grace: %v, want ErrSessionEnded", err)
		}
	})
}

func TestRevokeSessions(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		ada, phone := f.signUp(t, "ada@example.com", "Ada")
		laptop := f.logIn(t, "ada@example.com")
		tablet := f.logIn(t, "ada@example.com")
		bob, bobs := f.signUp(t, "bob@example.com", "Bob")
		f.newEvents(t)

		// Nobody ends someone else's session (IDOR): not found, nothing published.
		if err := f.svc.RevokeSession(ctx, bob.ID, phone.ID); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("Bob revoking Ada's session: %v, want ErrNotFound", err)
		}
		if evs := f.newEvents(t); len(evs) != 0 {
			t.Errorf("a refused revocation published %v", summarise(evs))
		}
		if err := f.svc.RevokeSession(ctx, ada.ID, tablet.ID); err != nil {
			t.Fatal(err)
		}
		sameEvents(t, "revoke", f.newEvents(t), summary{contracts.TypeSessionRevokedV1, tablet.ID, 1})
		if err := f.svc.RevokeSession(ctx, ada.ID, tablet.ID); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("revoking it again: %v, want ErrNotFound", err)
		}

		f.clock.Advance(time.Second)
		next, err := f.svc.RevokeOtherSessions(ctx, ada.ID, laptop.ID, device)
		if err != nil {
			t.Fatal(err)
		}
		evs := f.newEvents(t)
		sameEvents(t, "log out other devices", evs,
			summary{contracts.TypeUserUpdatedV1, ada.ID, 2},
			summary{contracts.TypeSessionRevokedV1, phone.ID, 1},
			summary{contracts.TypeSessionRevokedV1, laptop.ID, 1})
		upd, err := contracts.Decode[contracts.UserUpdatedV1](evs[0])
		if err != nil || !upd.Has(contracts.UserChangeTokensValidAfter) || !upd.TokensValidAfter.Equal(f.clock.Now()) {
			t.Errorf("update %+v, %v; want tokens_valid_after moved to now", upd, err)
		}
		sessions, err := f.svc.Sessions(ctx, ada.ID)
		if err != nil || len(sessions) != 1 || sessions[0].ID != next.ID {
			t.Errorf("Ada's sessions = %+v, %v; want only the renewed %s", sessions, err, next.ID)
		}
		if _, _, err := f.svc.Resume(ctx, bobs.ID, bob.ID, f.clock.Now(), contracts.RoleUser, device); err != nil {
			t.Errorf("Bob's session suffered: %v", err)
		}
	})
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u, s := f.signUp(t, "ada@example.com", "Ada")
		other := f.logIn(t, "ada@example.com")
		f.newEvents(t)
		const newPW = "a different long passphrase"
		var errs accounts.FieldErrors
		_, err := f.svc.ChangePassword(ctx, u.ID, accounts.ChangePassword{Current: "wrong password here", New: newPW, Session: s.ID})
		if !errors.As(err, &errs) || errs["current_password"] == "" {
			t.Fatalf("wrong current password: %v", err)
		}
		_, err = f.svc.ChangePassword(ctx, u.ID, accounts.ChangePassword{Current: pw, New: "password1", Session: s.ID})
		if !errors.As(err, &errs) || errs["new_password"] == "" {
			t.Fatalf("common new password: %v", err)
		}
		if evs := f.newEvents(t); len(evs) != 0 {
			t.Fatalf("refused changes published %v", summarise(evs))
		}
		next, err := f.svc.ChangePassword(ctx, u.ID, accounts.ChangePassword{Current: pw, New: newPW, Session: s.ID, Client: device})
		if err != nil {
			t.Fatal(err)
		}
		sameEvents(t, "password change", f.newEvents(t),
			summary{contracts.TypeUserUpdatedV1, u.ID, 2},
			summary{contracts.TypeSessionRevokedV1, other.ID, 1},
			summary{contracts.TypeSessionRevokedV1, s.ID, 1})
		if _, _, err := f.svc.LogIn(ctx, accounts.LogIn{Email: "ada@example.com", Password: pw}); !errors.Is(err, accounts.ErrInvalidCredentials) {
			t.Errorf("the old password still works: %v", err)
		}
		if _, _, err := f.svc.LogIn(ctx, accounts.LogIn{Email: "ada@example.com", Password: newPW}); err != nil {
			t.Errorf("the new password: %v", err)
		}
		if _, _, err := f.svc.Resume(ctx, next.ID, u.ID, f.clock.Now(), contracts.RoleUser, device); err != nil {
			t.Errorf("the renewed session: %v", err)
		}
	})
}

func TestRename(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u, _ := f.signUp(t, "ada@example.com", "Ada")
		f.newEvents(t)
		got, err := f.svc.Rename(ctx, u.ID, " Countess  of Lovelace ")
		if err != nil || got.DisplayName != "Countess of Lovelace" || got.Version != 2 {
			t.Fatalf("Rename = %+v, %v", got, err)
		}
		evs := f.newEvents(t)
		sameEvents(t, "rename", evs, summary{contracts.TypeUserUpdatedV1, u.ID, 2})
		upd, _ := contracts.Decode[contracts.UserUpdatedV1](evs[0])
		if upd.DisplayName != "Countess of Lovelace" || len(upd.Changes) != 1 || !upd.Has(contracts.UserChangeDisplayName) {
			t.Errorf("update %+v", upd)
		}
		if _, err := f.svc.Rename(ctx, u.ID, "Countess of Lovelace"); err != nil {
			t.Fatal(err)
		}
		if evs := f.newEvents(t); len(evs) != 0 {
			t.Errorf("renaming to the same name published %v", summarise(evs))
		}
		var errs accounts.FieldErrors
		if _, err := f.svc.Rename(ctx, u.ID, ""); !errors.As(err, &errs) || errs["display_name"] == "" {
			t.Errorf("empty name: %v", err)
		}
	})
}

// TestConcurrentChangesPublishInOrder renames one account from many
// goroutines at once: every version is published once, in order, and the
// last event carries the name that was saved last.
func TestConcurrentChangesPublishInOrder(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u, _ := f.signUp(t, "ada@example.com", "Ada")
		f.newEvents(t)
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				if _, err := f.svc.Rename(ctx, u.ID, "Ada "+string(rune('A'+i))); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		evs := f.newEvents(t)
		if len(evs) != 16 {
			t.Fatalf("16 renames published %d events", len(evs))
		}
		for i, ev := range evs {
			if ev.AggregateVersion != int64(i+2) {
				t.Fatalf("event %d has version %d, want %d: versions must follow the sequence", i, ev.AggregateVersion, i+2)
			}
		}
		last, _ := contracts.Decode[contracts.UserUpdatedV1](evs[15])
		stored, _ := f.svc.UserByID(ctx, u.ID)
		if last.DisplayName != stored.DisplayName || stored.Version != 17 {
			t.Errorf("stored %q at version %d, last event says %q", stored.DisplayName, stored.Version, last.DisplayName)
		}
	})
}

func TestDeleteAccount(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u, s := f.signUp(t, "ada@example.com", "Ada")
		if _, err := f.svc.Rename(ctx, u.ID, "Ada L."); err != nil {
			t.Fatal(err)
		}
		other := f.logIn(t, "ada@example.com")
		bob, _ := f.signUp(t, "bob@example.com", "Bob")
		f.newEvents(t)

		var errs accounts.FieldErrors
		if err := f.svc.DeleteAccount(ctx, u.ID, s.ID, "not my password, no"); !errors.As(err, &errs) || errs["password"] == "" {
			t.Fatalf("delete with a wrong password: %v", err)
		}
		if err := f.svc.DeleteAccount(ctx, u.ID, s.ID, pw); err != nil {
			t.Fatal(err)
		}
		got, err := f.svc.UserByID(ctx, u.ID)
		if err != nil || got.Email != "" || got.DisplayName != "" || got.Status != contracts.StatusDeleted || got.Version != 3 {
			t.Errorf("the deleted row is %+v, %v; want only the id left", got, err)
		}
		var sessions int
		if err := f.db.QueryRowContext(ctx, `SELECT count(*) FROM sessions WHERE user_id = $1`, u.ID).Scan(&sessions); err != nil || sessions != 0 {
			t.Errorf("%d sessions (with their devices and addresses) are left, %v", sessions, err)
		}
		// The whole history, as the feed serves it: the user's earlier events,
		// with the name, are gone; the deletion and the revocations remain.
		history, _, err := f.events.Read(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var left []summary
		for _, ev := range history {
			if ev.Subject == u.ID || ev.Subject == s.ID || ev.Subject == other.ID {
				left = append(left, summary{ev.Type, ev.Subject, ev.AggregateVersion})
			}
		}
		want := []summary{{contracts.TypeUserDeletedV1, u.ID, 3}}
		for _, sid := range []string{s.ID, other.ID} {
			want = append(want, summary{contracts.TypeSessionRevokedV1, sid, 1})
		}
		if len(left) != 3 || left[0] != want[0] || !((left[1] == want[1] && left[2] == want[2]) || (left[1] == want[2] && left[2] == want[1])) {
			t.Errorf("Ada's history after deletion: %v, want %v", left, want)
		}
		var bobs []summary
		for _, ev := range history {
			if ev.Subject == bob.ID {
				bobs = append(bobs, summary{ev.Type, ev.Subject, ev.AggregateVersion})
			}
		}
		if len(bobs) != 1 || bobs[0] != (summary{contracts.TypeUserRegisteredV1, bob.ID, 1}) {
			t.Errorf("Bob's history suffered: %v", bobs)
		}
		if _, _, err := f.svc.LogIn(ctx, accounts.LogIn{Email: "ada@example.com", Password: pw}); !errors.Is(err, accounts.ErrInvalidCredentials) {
			t.Errorf("login to the deleted account: %v, want ErrInvalidCredentials", err)
		}
		// The address is free again.
		f.signUp(t, "ada@example.com", "Ada again")
	})
}

// A name or a reason that other people read cannot carry a bidi override,
// embedding or isolate: each entry point refuses it on its field, naming the
// character, and changes nothing.
func TestTextOthersSeeRefusesDisguisingCharacters(t *testing.T) {
	t.Parallel()
	f := newFixture(t, servicetest.SQLite)
	ctx := context.Background()
	admin, _ := f.signUp(t, "admin@example.com", "Admin")
	if err := f.svc.SetRole(ctx, "", admin.ID, contracts.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	mallory, _ := f.signUp(t, "mallory@example.com", "Mallory")
	if err := f.svc.Ban(ctx, admin.ID, mallory.ID, "spam"); err != nil {
		t.Fatal(err)
	}
	f.newEvents(t)
	for _, c := range []struct {
		name string
		r    rune
	}{{"RLO", '\u202e'}, {"LRE", '\u202a'}, {"RLI", '\u2067'}, {"PDI", '\u2069'}} {
		text := "Ada" + string(c.r) + "ecilA"
		for _, entry := range []struct {
			name, field, what string
			call              func() error
		}{
			{"sign-up", "display_name", "name", func() error {
				_, _, err := f.svc.SignUp(ctx, accounts.SignUp{Email: "ada@example.com", DisplayName: text, Password: pw, Client: device})
				return err
			}},
			{"rename", "display_name", "name", func() error { _, err := f.svc.Rename(ctx, admin.ID, text); return err }},
			{"unban", "reason", "reason", func() error { return f.svc.Unban(ctx, admin.ID, mallory.ID, text) }},
			{"ban", "reason", "reason", func() error { return f.svc.Ban(ctx, admin.ID, admin.ID, text) }},
		} {
			t.Run(entry.name+" "+c.name, func(t *testing.T) {
				var errs accounts.FieldErrors
				if err := entry.call(); !errors.As(err, &errs) {
					t.Fatalf("%v, want a field error on %s", err, entry.field)
				}
				want := fmt.Sprintf("The %s contains an invisible character that reverses text direction (%U); remove it.", entry.what, c.r)
				if errs[entry.field] != want {
					t.Errorf("%s: %q, want %q", entry.field, errs[entry.field], want)
				}
			})
		}
	}
	if evs := f.newEvents(t); len(evs) != 0 {
		t.Errorf("refused names and reasons published %v", summarise(evs))
	}
	// (The direction marks, which contracts.DisguisingCharacter allows, are
	// still refused here with every other format character: cleanText.)
	if u, err := f.svc.Rename(ctx, admin.ID, "שלום!"); err != nil || u.DisplayName != "שלום!" {
		t.Errorf("a right-to-left name: %q, %v", u.DisplayName, err)
	}
}

func TestBanAndRoles(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		admin, adminSession := f.signUp(t, "admin@example.com", "Admin")
		if err := f.svc.SetRole(ctx, "", admin.ID, contracts.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		mallory, ms := f.signUp(t, "mallory@example.com", "Mallory")
		f.newEvents(t)

		var errs accounts.FieldErrors
		if err := f.svc.Ban(ctx, admin.ID, mallory.ID, "  "); !errors.As(err, &errs) || errs["reason"] == "" {
			t.Errorf("ban without a reason: %v", err)
		}
		if err := f.svc.Ban(ctx, admin.ID, admin.ID, "testing"); !errors.Is(err, accounts.ErrSelf) {
			t.Errorf("self-ban: %v, want ErrSelf", err)
		}
		if err := f.svc.Ban(ctx, admin.ID, mallory.ID, "spam in chat"); err != nil {
			t.Fatal(err)
		}
		evs := f.newEvents(t)
		sameEvents(t, "ban", evs, summary{contracts.TypeUserUpdatedV1, mallory.ID, 2}, summary{contracts.TypeSessionRevokedV1, ms.ID, 1})
		upd, _ := contracts.Decode[contracts.UserUpdatedV1](evs[0])
		if upd.Status != contracts.StatusBanned || !upd.Has(contracts.UserChangeStatus) || !upd.Has(contracts.UserChangeTokensValidAfter) {
			t.Errorf("ban update %+v", upd)
		}
		if _, _, err := f.svc.LogIn(ctx, accounts.LogIn{Email: "mallory@example.com", Password: pw}); !errors.Is(err, accounts.ErrSuspended) {
			t.Errorf("banned login: %v, want ErrSuspended", err)
		}
		if _, _, err := f.svc.LogIn(ctx, accounts.LogIn{Email: "mallory@example.com", Password: "wrong password here"}); !errors.Is(err, accounts.ErrInvalidCredentials) {
			t.Errorf("banned login with a wrong password: %v, want ErrInvalidCredentials (a ban is shown only to who knows the password)", err)
		}
		if _, _, err := f.svc.Resume(ctx, ms.ID, mallory.ID, f.clock.Now(), contracts.RoleUser, device); !errors.Is(err, accounts.ErrSessionEnded) {
			t.Errorf("banned session: %v, want ErrSessionEnded", err)
		}
		if err := f.svc.Ban(ctx, admin.ID, mallory.ID, "again"); err != nil {
			t.Fatal(err)
		}
		if evs := f.newEvents(t); len(evs) != 0 {
			t.Errorf("banning a banned user published %v", summarise(evs))
		}
		if err := f.svc.Unban(ctx, admin.ID, mallory.ID, "appeal accepted"); err != nil {
			t.Fatal(err)
		}
		sameEvents(t, "unban", f.newEvents(t), summary{contracts.TypeUserUpdatedV1, mallory.ID, 3})
		f.logIn(t, "mallory@example.com")

		history, err := f.svc.History(ctx, mallory.ID)
		if err != nil || len(history) != 2 || history[0].Action != "unban" || history[1].Action != "ban" ||
			history[1].Detail != "spam in chat" || history[1].ActorName != "Admin" {
			t.Errorf("history %+v, %v", history, err)
		}

		if err := f.svc.SetRole(ctx, admin.ID, admin.ID, contracts.RoleUser); !errors.Is(err, accounts.ErrLastAdmin) {
			t.Errorf("demoting the last admin: %v, want ErrLastAdmin", err)
		}
		if err := f.svc.SetRole(ctx, admin.ID, mallory.ID, "root"); !errors.As(err, &errs) {
			t.Errorf("an unknown role: %v", err)
		}
		if err := f.svc.SetRole(ctx, admin.ID, mallory.ID, contracts.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.SetRole(ctx, mallory.ID, admin.ID, contracts.RoleUser); err != nil {
			t.Errorf("demoting one of two admins: %v", err)
		}
		// The token the demoted admin holds says "admin", and predates the change.
		renewed, _, err := f.svc.Resume(ctx, adminSession.ID, admin.ID, f.clock.Now().Add(-time.Hour), contracts.RoleAdmin, device)
		if err != nil || renewed.ID == adminSession.ID {
			t.Errorf("the demoted admin's session: %s, %v; want it renewed under a new id", renewed.ID, err)
		}

		// Banning, unbanning or making admin a deleted account finds nothing.
		gone, goneSession := f.signUp(t, "gone@example.com", "Gone")
		if err := f.svc.DeleteAccount(ctx, gone.ID, goneSession.ID, pw); err != nil {
			t.Fatal(err)
		}
		for name, err := range map[string]error{
			"ban":   f.svc.Ban(ctx, mallory.ID, gone.ID, "spam"),
			"unban": f.svc.Unban(ctx, mallory.ID, gone.ID, "spam"),
			"role":  f.svc.SetRole(ctx, mallory.ID, gone.ID, contracts.RoleAdmin),
		} {
			if !errors.Is(err, accounts.ErrNotFound) {
				t.Errorf("%s of a deleted account: %v, want ErrNotFound", name, err)
			}
		}
		// The only admin (Mallory, now) can neither be banned by the command
		// line nor delete their account.
		if err := f.svc.Ban(ctx, "", mallory.ID, "testing"); !errors.Is(err, accounts.ErrLastAdmin) {
			t.Errorf("banning the only admin: %v, want ErrLastAdmin", err)
		}
		if err := f.svc.DeleteAccount(ctx, mallory.ID, ms.ID, pw); !errors.Is(err, accounts.ErrLastAdmin) {
			t.Errorf("the only admin deleting their account: %v, want ErrLastAdmin", err)
		}
	})
}

// TestRoleChangeInTheSameSecondRenews: tokens_valid_after counts whole
// seconds, so a token issued in the second of a role change is not older than
// it; its role claim still tells, and the session gets a new id.
func TestRoleChangeInTheSameSecondRenews(t *testing.T) {
	t.Parallel()
	f := newFixture(t, servicetest.SQLite)
	ctx := context.Background()
	u, s := f.signUp(t, "ada@example.com", "Ada")
	issued := f.clock.Now()
	if err := f.svc.SetRole(ctx, "", u.ID, contracts.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	got, gu, err := f.svc.Resume(ctx, s.ID, u.ID, issued, contracts.RoleUser, device)
	if err != nil || got.ID == s.ID || gu.Role != contracts.RoleAdmin {
		t.Fatalf("Resume after a role change in the same second: %s (%s), %v; want a new session of an admin", got.ID, gu.Role, err)
	}
	// The new session's token carries the new role: no second renewal.
	again, _, err := f.svc.Resume(ctx, got.ID, u.ID, issued, contracts.RoleAdmin, device)
	if err != nil || again.ID != got.ID {
		t.Errorf("Resume with the renewed token: %s, %v; want the same session", again.ID, err)
	}
}

// pausingHasher holds the first Verify of one password until released, so
// that a test can commit something while a login is between its password
// check and its session.
type pausingHasher struct {
	accounts.Hasher
	password string
	once     sync.Once
	reached  chan struct{}
	release  chan struct{}
}

func (h *pausingHasher) Verify(ctx context.Context, pw, encoded string) (bool, bool, error) {
	ok, rehash, err := h.Hasher.Verify(ctx, pw, encoded)
	if pw == h.password {
		h.once.Do(func() {
			close(h.reached)
			<-h.release
		})
	}
	return ok, rehash, err
}

// TestLoginRacingAPasswordChange: a login that checked the old password while
// the password was being changed does not get a session.
func TestLoginRacingAPasswordChange(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u, s := f.signUp(t, "ada@example.com", "Ada")
		paused := &pausingHasher{Hasher: f.svc.Hasher, password: pw, reached: make(chan struct{}), release: make(chan struct{})}
		f.svc.Hasher = paused
		done := make(chan error, 1)
		go func() {
			_, _, err := f.svc.LogIn(ctx, accounts.LogIn{Email: "ada@example.com", Password: pw, Client: device})
			done <- err
		}()
		<-paused.reached
		f.svc.Hasher = paused.Hasher // the change itself must not pause
		_, err := f.svc.ChangePassword(ctx, u.ID, accounts.ChangePassword{Current: pw, New: "a different long passphrase", Session: s.ID, Client: device})
		if err != nil {
			t.Fatal(err)
		}
		close(paused.release)
		if err := <-done; !errors.Is(err, accounts.ErrInvalidCredentials) {
			t.Fatalf("the login that checked the old password: %v, want ErrInvalidCredentials", err)
		}
		sessions, err := f.svc.Sessions(ctx, u.ID)
		if err != nil || len(sessions) != 1 {
			t.Errorf("sessions after the race: %d, %v; want only the renewed one of the change", len(sessions), err)
		}
	})
}

func TestFindUsers(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.signUp(t, "elise@example.com", "ÉLISE Dupont")
		f.signUp(t, "bob@example.com", "Bob 100%_sure")
		for q, want := range map[string]int{"élise": 1, "DUPONT": 1, "example.com": 2, "%": 1, "_sure": 1, "": 2, "nobody": 0} {
			users, err := f.svc.FindUsers(ctx, q, 10)
			if err != nil || len(users) != want {
				t.Errorf("FindUsers(%q) = %d users, %v; want %d", q, len(users), err, want)
			}
		}
	})
}

// TestTwoAdminsDemotingEachOther runs both demotions at once on PostgreSQL:
// one wins, the other finds itself the last admin.
func TestTwoAdminsDemotingEachOther(t *testing.T) {
	t.Parallel()
	f := newFixture(t, servicetest.Postgres)
	ctx := context.Background()
	a, _ := f.signUp(t, "a@example.com", "A")
	b, _ := f.signUp(t, "b@example.com", "B")
	for _, u := range []accounts.User{a, b} {
		if err := f.svc.SetRole(ctx, "", u.ID, contracts.RoleAdmin); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		var wg sync.WaitGroup
		var errA, errB error
		wg.Go(func() { errA = f.svc.SetRole(ctx, a.ID, b.ID, contracts.RoleUser) })
		wg.Go(func() { errB = f.svc.SetRole(ctx, b.ID, a.ID, contracts.RoleUser) })
		wg.Wait()
		var admins int
		if err := f.db.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE role = 'admin'`).Scan(&admins); err != nil {
			t.Fatal(err)
		}
		if admins != 1 || (errA == nil) == (errB == nil) {
			t.Fatalf("after both demotions: %d admins, errors %v and %v; want one admin and one ErrLastAdmin", admins, errA, errB)
		}
		for _, err := range []error{errA, errB} {
			if err != nil && !errors.Is(err, accounts.ErrLastAdmin) {
				t.Fatalf("unexpected error %v", err)
			}
		}
		// Make both admins again for the next round.
		for _, u := range []accounts.User{a, b} {
			if err := f.svc.SetRole(ctx, "", u.ID, contracts.RoleAdmin); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestRehashOnLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t, servicetest.SQLite)
	ctx := context.Background()
	u, _ := f.signUp(t, "ada@example.com", "Ada")
	stronger := accountstest.Fast
	stronger.Iterations = 2
	f.svc.Hasher = password.NewHasher(stronger, 2)
	f.logIn(t, "ada@example.com")
	var stored string
	if err := f.db.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = $1`, u.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if _, rehash, err := f.svc.Hasher.Verify(ctx, pw, stored); err != nil || rehash {
		t.Errorf("after a login with raised parameters the hash %q still wants a re-hash (%v)", stored, err)
	}
	f.logIn(t, "ada@example.com")
}

// TestModerationRacesDoNotDeadlock bans, unbans and changes the role of one
// account from two admins at once on PostgreSQL. The changes lock the account
// and the admins, and write rows that reference the admin who acted; with
// FOR UPDATE, whose lock the foreign-key checks of those rows wait for, two
// such transactions deadlocked.
func TestModerationRacesDoNotDeadlock(t *testing.T) {
	t.Parallel()
	f := newFixture(t, servicetest.Postgres)
	ctx := context.Background()
	a, _ := f.signUp(t, "a@example.com", "A")
	b, _ := f.signUp(t, "b@example.com", "B")
	c, _ := f.signUp(t, "c@example.com", "C")
	for _, u := range []accounts.User{a, b} {
		if err := f.svc.SetRole(ctx, "", u.ID, contracts.RoleAdmin); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 20 {
		var wg sync.WaitGroup
		errs := make([]error, 3)
		role := contracts.RoleUser
		if round%2 == 0 {
			role = contracts.RoleAdmin
		}
		wg.Go(func() { errs[0] = f.svc.Ban(ctx, b.ID, c.ID, "round "+strconv.Itoa(round)) })
		wg.Go(func() { errs[1] = f.svc.SetRole(ctx, a.ID, c.ID, role) })
		wg.Go(func() { errs[2] = f.svc.Unban(ctx, a.ID, c.ID, "round "+strconv.Itoa(round)) })
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, change %d: %v", round, i, err)
			}
		}
	}
}

// TestRenewalRacingOtherChanges renews a session (a role change's) while the
// user logs out their other devices, and while they delete their account, on
// PostgreSQL: the renewed session never survives the one, and the other never
// deadlocks.
func TestRenewalRacingOtherChanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t, servicetest.Postgres)
	ctx := context.Background()
	f.svc.Limits.SignUpPerIP.Burst = 1000
	f.svc.Limits.LoginPerAccount.Burst = 1000
	u, _ := f.signUp(t, "ada@example.com", "Ada")
	for round := range 60 {
		f.clock.Advance(time.Second)
		current, renewing := f.logIn(t, "ada@example.com"), f.logIn(t, "ada@example.com")
		var wg sync.WaitGroup
		var err error
		wg.Go(func() { _, err = f.svc.RevokeOtherSessions(ctx, u.ID, current.ID, device) })
		// A token that names another role: Resume renews its session.
		wg.Go(func() { _, _, _ = f.svc.Resume(ctx, renewing.ID, u.ID, f.clock.Now(), contracts.RoleAdmin, device) })
		wg.Wait()
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		live, err := f.svc.Sessions(ctx, u.ID)
		if err != nil || len(live) != 1 {
			t.Fatalf("round %d: %d sessions live after logging out the others, %v; want 1", round, len(live), err)
		}
		_ = f.svc.LogOut(ctx, live[0].ID)
	}
	for round := range 60 {
		v, s := f.signUp(t, fmt.Sprintf("u%d@example.com", round), "U")
		var wg sync.WaitGroup
		var errDelete, errResume error
		wg.Go(func() { errDelete = f.svc.DeleteAccount(ctx, v.ID, s.ID, pw) })
		wg.Go(func() { _, _, errResume = f.svc.Resume(ctx, s.ID, v.ID, f.clock.Now(), contracts.RoleAdmin, device) })
		wg.Wait()
		for _, err := range []error{errDelete, errResume} {
			if err != nil && !errors.Is(err, accounts.ErrSessionEnded) {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
}

// TestDeletionRacingABan: a deletion whose password check ran while an admin
// banned the account does not turn the ban into a deletion (which would free
// the address for a new sign-up).
func TestDeletionRacingABan(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		admin, _ := f.signUp(t, "root@example.com", "Root")
		if err := f.svc.SetRole(ctx, "", admin.ID, contracts.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		u, s := f.signUp(t, "mallory@example.com", "Mallory")
		paused := &pausingHasher{Hasher: f.svc.Hasher, password: pw, reached: make(chan struct{}), release: make(chan struct{})}
		f.svc.Hasher = paused
		done := make(chan error, 1)
		go func() { done <- f.svc.DeleteAccount(ctx, u.ID, s.ID, pw) }()
		<-paused.reached
		if err := f.svc.Ban(ctx, admin.ID, u.ID, "spam"); err != nil {
			t.Fatal(err)
		}
		close(paused.release)
		if err := <-done; !errors.Is(err, accounts.ErrSuspended) {
			t.Fatalf("the deletion that raced the ban: %v, want ErrSuspended", err)
		}
		if got, _ := f.svc.UserByID(ctx, u.ID); got.Status != contracts.StatusBanned || got.Email != "mallory@example.com" {
			t.Errorf("the account is %s with address %q, want banned and kept", got.Status, got.Email)
		}
	})
}

// TestTwoLoginsAfterRaisedParameters: both logins of a double click re-hash
// the password; the one whose re-hash lands second must not be refused.
func TestTwoLoginsAfterRaisedParameters(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.signUp(t, "ada@example.com", "Ada")
		stronger := accountstest.Fast
		stronger.Iterations = 2
		f.svc.Hasher = password.NewHasher(stronger, 2)
		for round := range 5 {
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i := range errs {
				wg.Go(func() {
					_, _, errs[i] = f.svc.LogIn(ctx, accounts.LogIn{Email: "ada@example.com", Password: pw, Client: device})
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("round %d, login %d: %v", round, i, err)
				}
			}
			stronger.Iterations++ // raise them again for the next round
			f.svc.Hasher = password.NewHasher(stronger, 2)
		}
	})
}
