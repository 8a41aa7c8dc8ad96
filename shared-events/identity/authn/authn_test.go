package authn_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/identity/authn"
)

const (
	audience = "https://platform.example"
	userID   = "0190a0b4-7f51-7cc1-9b6e-2d1f3c4a5b6c"
	bannedID = "0190a0b4-7f51-7cc1-9b6e-2d1f3c4a5b6d"
	goneID   = "0190a0b4-7f51-7cc1-9b6e-2d1f3c4a5b6e"
	renewID  = "0190a0b4-7f51-7cc1-9b6e-2d1f3c4a5b6f"
	strayID  = "0190a0b4-7f51-7cc1-9b6e-2d1f3c4a5b70"
	sessID   = "0190a0b4-7f51-7cc1-9b6e-aaaaaaaaaaaa"
	revSess  = "0190a0b4-7f51-7cc1-9b6e-bbbbbbbbbbbb"
)

// now is the fixed clock of every case.
var now = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

// memReplica is an in-memory authn.Replica: these are unit tests of the checks;
// usersreplica's tests run them against the real replica tables.
type memReplica struct {
	keys    map[string]authn.Key
	users   map[string]authn.User
	revoked map[string]bool
	fail    error
}

func (m *memReplica) SigningKey(_ context.Context, kid string) (authn.Key, error) {
	if m.fail != nil {
		return authn.Key{}, m.fail
	}
	k, ok := m.keys[kid]
	if !ok {
		return authn.Key{}, fmt.Errorf("%w: %s", authn.ErrUnknownKey, kid)
	}
	return k, nil
}

func (m *memReplica) User(_ context.Context, id string) (authn.User, error) {
	u, ok := m.users[id]
	if !ok {
		return authn.User{}, fmt.Errorf("%w: %s", authn.ErrUnknownUser, id)
	}
	return u, nil
}

func (m *memReplica) SessionRevoked(_ context.Context, sid string) (bool, error) {
	return m.revoked[sid], nil
}

type fixture struct {
	replica *memReplica
	key     ed25519.PrivateKey
	other   ed25519.PrivateKey // not published under any kid
	old     ed25519.PrivateKey // published, window over
	next    ed25519.PrivateKey // published, window not yet open
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{}
	var pubs [4]ed25519.PublicKey
	for i, k := range []*ed25519.PrivateKey{&f.key, &f.other, &f.old, &f.next} {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		*k, pubs[i] = priv, pub
	}
	f.replica = &memReplica{
		keys: map[string]authn.Key{
			"k1":   {ID: "k1", Public: pubs[0], NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)},
			"old":  {ID: "old", Public: pubs[2], NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Minute)},
			"next": {ID: "next", Public: pubs[3], NotBefore: now.Add(time.Minute), NotAfter: now.Add(48 * time.Hour)},
		},
		users: map[string]authn.User{
			userID:   {DisplayName: "Ada", Role: contracts.RoleAdmin, Status: contracts.StatusActive, TokensValidAfter: now.Add(-24 * time.Hour)},
			bannedID: {DisplayName: "Mallory", Role: contracts.RoleUser, Status: contracts.StatusBanned},
			goneID:   {Role: contracts.RoleUser, Status: contracts.StatusDeleted},
			renewID:  {DisplayName: "Renée", Role: contracts.RoleUser, Status: contracts.StatusActive, TokensValidAfter: now.Add(-10*time.Second + 300*time.Millisecond)},
		},
		revoked: map[string]bool{revSess: true},
	}
	return f
}

func claimsFor(user string) authn.Claims {
	return authn.Claims{
		KeyID: "k1", UserID: user, SessionID: sessID, Role: contracts.RoleUser, Audience: audience,
		IssuedAt: now.Add(-time.Minute), ExpiresAt: now.Add(9 * time.Minute),
	}
}

func sign(t testing.TB, key ed25519.PrivateKey, c authn.Claims) string {
	t.Helper()
	s, err := authn.Sign(key, c)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

// forge signs arbitrary claims with an arbitrary method, as an attacker would.
func forge(t *testing.T, method jwt.SigningMethod, key any, kid string, mc jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, mc)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("forge %s: %v", method.Alg(), err)
	}
	return s
}

func goodMapClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss": authn.Issuer, "sub": userID, "sid": sessID, "role": "user", "aud": audience,
		"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(9 * time.Minute).Unix(),
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestVerify(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	pub := f.replica.keys["k1"].Public
	good := sign(t, f.key, claimsFor(userID))
	parts := strings.Split(good, ".")

	tests := []struct {
		name  string
		token func() string
		want  error // nil: accepted
	}{
		{"valid", func() string { return good }, nil},
		{"empty", func() string { return "" }, authn.ErrNoToken},
		{"not a JWT", func() string { return "hello" }, authn.ErrMalformed},
		{"four segments", func() string { return good + ".x" }, authn.ErrMalformed},
		{"payload not base64", func() string { return parts[0] + ".!!!." + parts[2] }, authn.ErrMalformed},
		{"bad signature: signed by a key nobody published, under a published kid", func() string {
			return sign(t, f.other, claimsFor(userID))
		}, authn.ErrSignature},
		{"bad signature: payload changed after signing", func() string {
			mc := goodMapClaims()
			mc["role"] = "admin"
			forged := forge(t, jwt.SigningMethodEdDSA, f.other, "k1", mc)
			return parts[0] + "." + strings.Split(forged, ".")[1] + "." + parts[2]
		}, authn.ErrSignature},
		{"signature missing", func() string { return parts[0] + "." + parts[1] + "." }, authn.ErrSignature},
		{"unknown kid", func() string {
			c := claimsFor(userID)
			c.KeyID = "nobody-knows"
			return sign(t, f.key, c)
		}, authn.ErrUnknownKey},
		{"no kid", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, goodMapClaims())
			s, _ := tok.SignedString(f.key)
			return s
		}, authn.ErrUnknownKey},
		{"key's window is over", func() string {
			c := claimsFor(userID)
			c.KeyID = "old"
			return sign(t, f.old, c)
		}, authn.ErrKeyNotValid},
		{"an expired token of a key whose window is over: expired, so refreshable", func() string {
			c := claimsFor(userID)
			c.KeyID = "old"
			c.IssuedAt, c.ExpiresAt = now.Add(-20*time.Minute), now.Add(-10*time.Minute)
			return sign(t, f.old, c)
		}, authn.ErrExpired},
		{"an expired token of a key whose window is over, signed by another key", func() string {
			c := claimsFor(userID)
			c.KeyID = "old"
			c.IssuedAt, c.ExpiresAt = now.Add(-20*time.Minute), now.Add(-10*time.Minute)
			return sign(t, f.other, c)
		}, authn.ErrSignature},
		{"key's window has not begun", func() string {
			c := claimsFor(userID)
			c.KeyID = "next"
			return sign(t, f.next, c)
		}, authn.ErrKeyNotValid},
		{"alg none", func() string {
			return b64(`{"alg":"none","typ":"JWT","kid":"k1"}`) + "." + parts[1] + "."
		}, authn.ErrAlgorithm},
		{"alg None (case variant)", func() string {
			return b64(`{"alg":"None","typ":"JWT","kid":"k1"}`) + "." + parts[1] + "."
		}, authn.ErrAlgorithm},
		{"HS256 keyed with the raw public key", func() string {
			return forge(t, jwt.SigningMethodHS256, []byte(pub), "k1", goodMapClaims())
		}, authn.ErrAlgorithm},
		{"HS256 keyed with the published base64url public key", func() string {
			return forge(t, jwt.SigningMethodHS256, []byte(base64.RawURLEncoding.EncodeToString(pub)), "k1", goodMapClaims())
		}, authn.ErrAlgorithm},
		{"ES256", func() string {
			k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			return forge(t, jwt.SigningMethodES256, k, "k1", goodMapClaims())
		}, authn.ErrAlgorithm},
		{"an algorithm nobody knows", func() string {
			return b64(`{"alg":"EdDSA2","typ":"JWT","kid":"k1"}`) + "." + parts[1] + "." + parts[2]
		}, authn.ErrAlgorithm},
		{"wrong audience", func() string {
			c := claimsFor(userID)
			c.Audience = "https://staging.platform.example"
			return sign(t, f.key, c)
		}, authn.ErrAudience},
		{"two audiences", func() string {
			mc := goodMapClaims()
			mc["aud"] = []string{audience, "https://other.example"}
			return forge(t, jwt.SigningMethodEdDSA, f.key, "k1", mc)
		}, authn.ErrAudience},
		{"expired", func() string {
			c := claimsFor(userID)
			c.IssuedAt, c.ExpiresAt = now.Add(-20*time.Minute), now.Add(-10*time.Minute)
			return sign(t, f.key, c)
		}, authn.ErrExpired},
		{"expired within the leeway is still accepted", func() string {
			c := claimsFor(userID)
			c.IssuedAt, c.ExpiresAt = now.Add(-10*time.Minute), now.Add(-2*time.Second)
			return sign(t, f.key, c)
		}, nil},
		{"issued in the future", func() string {
			c := claimsFor(userID)
			c.IssuedAt, c.ExpiresAt = now.Add(time.Minute), now.Add(10*time.Minute)
			return sign(t, f.key, c)
		}, authn.ErrNotYetValid},
		{"no exp", func() string {
			mc := goodMapClaims()
			delete(mc, "exp")
			return forge(t, jwt.SigningMethodEdDSA, f.key, "k1", mc)
		}, authn.ErrMalformed},
		{"no iat", func() string {
			mc := goodMapClaims()
			delete(mc, "iat")
			return forge(t, jwt.SigningMethodEdDSA, f.key, "k1", mc)
		}, authn.ErrMalformed},
		{"another issuer", func() string {
			mc := goodMapClaims()
			mc["iss"] = "someone-else"
			return forge(t, jwt.SigningMethodEdDSA, f.key, "k1", mc)
		}, authn.ErrMalformed},
		{"sub is not a user id", func() string {
			mc := goodMapClaims()
			mc["sub"] = "admin"
			return forge(t, jwt.SigningMethodEdDSA, f.key, "k1", mc)
		}, authn.ErrMalformed},
		{"sid missing", func() string {
			mc := goodMapClaims()
			delete(mc, "sid")
			return forge(t, jwt.SigningMethodEdDSA, f.key, "k1", mc)
		}, authn.ErrMalformed},
		{"role unknown", func() string {
			mc := goodMapClaims()
			mc["role"] = "root"
			return forge(t, jwt.SigningMethodEdDSA, f.key, "k1", mc)
		}, authn.ErrMalformed},
		{"unknown user", func() string { return sign(t, f.key, claimsFor(strayID)) }, authn.ErrUnknownUser},
		{"banned user", func() string { return sign(t, f.key, claimsFor(bannedID)) }, authn.ErrBanned},
		{"deleted user", func() string { return sign(t, f.key, claimsFor(goneID)) }, authn.ErrDeleted},
		{"revoked session", func() string {
			c := claimsFor(userID)
			c.SessionID = revSess
			return sign(t, f.key, c)
		}, authn.ErrRevoked},
		{"issued before tokens_valid_after", func() string { return sign(t, f.key, claimsFor(renewID)) }, authn.ErrStale},
		{"issued in the second tokens_valid_after moved", func() string {
			c := claimsFor(renewID)
			c.IssuedAt = now.Add(-10 * time.Second)
			return sign(t, f.key, c)
		}, nil},
	}
	v := authn.NewVerifier(f.replica, audience)
	v.Parser.Now = func() time.Time { return now }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tt.token())
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v, want the token accepted", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %+v, %v; want %v", p, err, tt.want)
			}
			if !authn.Refused(err) {
				t.Errorf("Refused(%v) = false, want true", err)
			}
			if p != (authn.Principal{}) {
				t.Errorf("a refused token returned a principal: %+v", p)
			}
		})
	}
}

func TestVerifyReturnsTheReplicasView(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := authn.NewVerifier(f.replica, audience)
	v.Parser.Now = func() time.Time { return now }
	c := claimsFor(userID) // the token says "user"; the replica says "admin"
	p, err := v.Verify(context.Background(), sign(t, f.key, c))
	if err != nil {
		t.Fatal(err)
	}
	want := authn.Principal{UserID: userID, SessionID: sessID, Role: contracts.RoleAdmin, DisplayName: "Ada", IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt}
	if p != want {
		t.Errorf("Verify = %+v, want %+v", p, want)
	}
}

func TestKeyStoreFailureIsNotARefusal(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.replica.fail = errors.New("database is locked")
	v := authn.NewVerifier(f.replica, audience)
	v.Parser.Now = func() time.Time { return now }
	_, err := v.Verify(context.Background(), sign(t, f.key, claimsFor(userID)))
	if err == nil || authn.Refused(err) {
		t.Fatalf("Verify = %v, want an error that is not a refusal", err)
	}
	if !strings.Contains(err.Error(), "database is locked") {
		t.Errorf("error %q hides the cause", err)
	}
}

func TestParseExpired(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := authn.Parser{Keys: f.replica, Audience: audience, Now: func() time.Time { return now }}
	expired := claimsFor(userID)
	expired.IssuedAt, expired.ExpiresAt = now.Add(-3*time.Hour), now.Add(-2*time.Hour)

	got, err := p.ParseExpired(context.Background(), sign(t, f.key, expired))
	if err != nil {
		t.Fatalf("ParseExpired(expired): %v", err)
	}
	if got.UserID != userID || got.SessionID != sessID || !got.ExpiresAt.Equal(expired.ExpiresAt) || got.KeyID != "k1" {
		t.Errorf("ParseExpired = %+v", got)
	}
	if _, err := p.Parse(context.Background(), sign(t, f.key, expired)); !errors.Is(err, authn.ErrExpired) {
		t.Errorf("Parse(expired) = %v, want ErrExpired", err)
	}
	// A token of a key that has retired since still leads to its session.
	retired := expired
	retired.KeyID = "old"
	if _, err := p.ParseExpired(context.Background(), sign(t, f.old, retired)); err != nil {
		t.Errorf("ParseExpired(a retired key's token) = %v, want it accepted", err)
	}
	if _, err := p.Parse(context.Background(), sign(t, f.old, retired)); !errors.Is(err, authn.ErrExpired) {
		t.Errorf("Parse(a retired key's expired token) = %v, want ErrExpired, which sends it to be refreshed", err)
	}
	// Everything but the expiry is still checked.
	wrongAud := expired
	wrongAud.Audience = "https://elsewhere.example"
	future := claimsFor(userID)
	future.IssuedAt, future.ExpiresAt = now.Add(time.Hour), now.Add(2*time.Hour)
	for name, tc := range map[string]struct {
		token string
		want  error
	}{
		"other key":      {sign(t, f.other, expired), authn.ErrSignature},
		"wrong audience": {sign(t, f.key, wrongAud), authn.ErrAudience},
		"future":         {sign(t, f.key, future), authn.ErrNotYetValid},
		"alg none":       {b64(`{"alg":"none","kid":"k1"}`) + "." + strings.Split(sign(t, f.key, expired), ".")[1] + ".", authn.ErrAlgorithm},
		"key not yet valid": {func() string {
			c := expired
			c.KeyID = "next"
			return sign(t, f.next, c)
		}(), authn.ErrKeyNotValid},
	} {
		if _, err := p.ParseExpired(context.Background(), tc.token); !errors.Is(err, tc.want) {
			t.Errorf("ParseExpired(%s) = %v, want %v", name, err, tc.want)
		}
	}
}

func TestRefreshable(t *testing.T) {
	t.Parallel()
	for _, err := range []error{authn.ErrExpired, authn.ErrStale, fmt.Errorf("wrapped: %w", authn.ErrExpired)} {
		if !authn.Refreshable(err) {
			t.Errorf("Refreshable(%v) = false", err)
		}
	}
	for _, err := range []error{authn.ErrRevoked, authn.ErrBanned, authn.ErrSignature, authn.ErrUnknownKey, errors.New("db down")} {
		if authn.Refreshable(err) {
			t.Errorf("Refreshable(%v) = true", err)
		}
	}
}

func TestLagging(t *testing.T) {
	t.Parallel()
	for _, err := range []error{authn.ErrUnknownUser, fmt.Errorf("%w: k9", authn.ErrUnknownKey)} {
		if !authn.Lagging(err) || authn.Refreshable(err) {
			t.Errorf("Lagging(%v) = false or Refreshable = true", err)
		}
	}
	for _, err := range []error{authn.ErrExpired, authn.ErrRevoked, authn.ErrKeyNotValid, errors.New("db down")} {
		if authn.Lagging(err) {
			t.Errorf("Lagging(%v) = true", err)
		}
	}
}

func TestSignRefusesIncompleteClaims(t *testing.T) {
	t.Parallel()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	for name, mutate := range map[string]func(*authn.Claims){
		"no kid":              func(c *authn.Claims) { c.KeyID = "" },
		"no sub":              func(c *authn.Claims) { c.UserID = "" },
		"no sid":              func(c *authn.Claims) { c.SessionID = "" },
		"no aud":              func(c *authn.Claims) { c.Audience = "" },
		"expires when issued": func(c *authn.Claims) { c.ExpiresAt = c.IssuedAt },
	} {
		c := claimsFor(userID)
		mutate(&c)
		if _, err := authn.Sign(key, c); err == nil {
			t.Errorf("Sign with %s: no error", name)
		}
	}
	if _, err := authn.Sign(ed25519.PrivateKey("short"), claimsFor(userID)); err == nil {
		t.Error("Sign with a short key: no error")
	}
}

// FuzzParse feeds the parser arbitrary tokens: it must refuse every one of them
// (none is signed by the key) with a refusal, never panic.
func FuzzParse(f *testing.F) {
	fx := newFixture(f)
	good := sign(f, fx.key, claimsFor(userID))
	parts := strings.Split(good, ".")
	for _, s := range []string{"", ".", "..", "a.b.c", good[:len(good)-2], parts[0] + "." + parts[1] + ".",
		b64(`{"alg":"none"}`) + "." + parts[1] + ".", b64(`{"alg":"EdDSA","kid":{}}`) + "." + parts[1] + "." + parts[2],
		b64(`{"alg":"EdDSA","kid":"k1","crit":["x"]}`) + "." + b64(`{"sub":1,"exp":"soon"}`) + "." + parts[2]} {
		f.Add(s)
	}
	p := authn.Parser{Keys: fx.replica, Audience: audience, Now: func() time.Time { return now }}
	f.Fuzz(func(t *testing.T, token string) {
		if token == good {
			return
		}
		for _, parse := range []func(context.Context, string) (authn.Claims, error){p.Parse, p.ParseExpired} {
			c, err := parse(context.Background(), token)
			if err == nil {
				t.Fatalf("accepted a token nobody signed: %q → %+v", token, c)
			}
			if !authn.Refused(err) {
				t.Fatalf("error %v is not a refusal", err)
			}
		}
	})
}

func TestCookieNameAndAudience(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ url, name, aud string }{
		{"http://localhost:8080", authn.CookieName, "http://localhost:8080"},
		{"https://platform.example/base", authn.SecureCookieName, "https://platform.example"},
	} {
		u := mustURL(t, tc.url)
		if got := authn.CookieNameFor(u); got != tc.name {
			t.Errorf("CookieNameFor(%s) = %q, want %q", tc.url, got, tc.name)
		}
		if got := authn.Audience(u); got != tc.aud {
			t.Errorf("Audience(%s) = %q, want %q", tc.url, got, tc.aud)
		}
	}
}

func TestKeyWindowBoundaries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	k := f.replica.keys["k1"]
	c := claimsFor(userID)
	c.IssuedAt, c.ExpiresAt = k.NotBefore, k.NotAfter.Add(time.Hour)
	token := sign(t, f.key, c)
	for _, tc := range []struct {
		name string
		at   time.Time
		want error
	}{
		{"at not_before", k.NotBefore, nil},
		{"just before not_after", k.NotAfter.Add(-time.Nanosecond), nil},
		{"at not_after", k.NotAfter, authn.ErrKeyNotValid},
		{"just before not_before", k.NotBefore.Add(-time.Nanosecond), authn.ErrKeyNotValid},
	} {
		p := authn.Parser{Keys: f.replica, Audience: audience, Now: func() time.Time { return tc.at }}
		_, err := p.Parse(context.Background(), token)
		if (tc.want == nil && err != nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: Parse = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestTokenFromRequest(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "/chat/", nil)
	if _, err := authn.TokenFromRequest(r, authn.CookieName); !errors.Is(err, authn.ErrNoToken) {
		t.Errorf("no cookie: %v, want ErrNoToken", err)
	}
	r.Header.Set("Cookie", authn.CookieName+"=abc.def.ghi; other=1")
	if got, err := authn.TokenFromRequest(r, authn.CookieName); err != nil || got != "abc.def.ghi" {
		t.Errorf("TokenFromRequest = %q, %v", got, err)
	}
	if _, err := authn.TokenFromRequest(r, authn.SecureCookieName); !errors.Is(err, authn.ErrNoToken) {
		t.Errorf("the other cookie name: %v, want ErrNoToken", err)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
