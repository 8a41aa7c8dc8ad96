package usersreplica_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/identity/authn"
	"github.com/scs-platform/shared-events/identity/usersreplica"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

// TestVerifierOnTheReplica fills a real replica with scs-users' events, through
// the consumer, and checks that tokens are accepted or refused by what the
// events said, on every backend.
func TestVerifierOnTheReplica(t *testing.T) {
	t.Parallel()
	const aud = "http://localhost:8080"
	ids := map[string]string{
		"ada":     "01a19b53-741b-74c0-9095-71d6b11f6001",
		"banned":  "01a19b53-741b-74c0-9095-71d6b11f6002",
		"deleted": "01a19b53-741b-74c0-9095-71d6b11f6003",
		"renewed": "01a19b53-741b-74c0-9095-71d6b11f6004",
		"stray":   "01a19b53-741b-74c0-9095-71d6b11f6005",
	}
	const live, revoked = "01a19b53-7aef-7893-aca7-3d0dae961001", "01a19b53-7aef-7893-aca7-3d0dae961002"
	now := time.Now().Truncate(time.Second)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, backend := range servicetest.Backends() {
		t.Run(backend.Name, func(t *testing.T) {
			ctx := context.Background()
			db, _, apply := newReplica(t, backend.Open)
			apply(contracts.SigningKeyPublishedV1{KeyID: "k1", Algorithm: contracts.AlgorithmEdDSA,
				PublicKey: base64.RawURLEncoding.EncodeToString(pub), NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}, 1)
			for _, name := range []string{"ada", "banned", "deleted", "renewed"} {
				apply(contracts.UserRegisteredV1{UserSnapshot: contracts.UserSnapshot{UserID: ids[name], DisplayName: name,
					Role: contracts.RoleUser, Status: contracts.StatusActive, TokensValidAfter: now.Add(-time.Hour)}}, 1)
			}
			apply(contracts.UserUpdatedV1{UserSnapshot: contracts.UserSnapshot{UserID: ids["banned"], DisplayName: "banned",
				Role: contracts.RoleUser, Status: contracts.StatusBanned, TokensValidAfter: now},
				Changes: []contracts.UserChange{contracts.UserChangeStatus, contracts.UserChangeTokensValidAfter}}, 2)
			apply(contracts.UserDeletedV1{UserID: ids["deleted"], DeletedAt: now}, 2)
			apply(contracts.UserUpdatedV1{UserSnapshot: contracts.UserSnapshot{UserID: ids["renewed"], DisplayName: "renewed",
				Role: contracts.RoleUser, Status: contracts.StatusActive, TokensValidAfter: now.Add(-time.Minute)},
				Changes: []contracts.UserChange{contracts.UserChangeTokensValidAfter}}, 2)
			apply(contracts.SessionRevokedV1{SessionID: revoked, UserID: ids["ada"], RevokedAt: now}, 1)

			v := usersreplica.NewVerifier(db, aud)
			token := func(kid, user, sid string, issued time.Time) string {
				s, err := authn.Sign(priv, authn.Claims{KeyID: kid, UserID: user, SessionID: sid, Role: contracts.RoleUser,
					Audience: aud, IssuedAt: issued, ExpiresAt: now.Add(10 * time.Minute)})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			earlier := now.Add(-2 * time.Minute)
			for _, tc := range []struct {
				name  string
				token string
				want  error
			}{
				{"valid", token("k1", ids["ada"], live, earlier), nil},
				{"unknown kid", token("k2", ids["ada"], live, earlier), authn.ErrUnknownKey},
				{"revoked session", token("k1", ids["ada"], revoked, earlier), authn.ErrRevoked},
				{"banned user", token("k1", ids["banned"], live, earlier), authn.ErrBanned},
				{"deleted user", token("k1", ids["deleted"], live, earlier), authn.ErrDeleted},
				{"issued before tokens_valid_after", token("k1", ids["renewed"], live, earlier), authn.ErrStale},
				{"issued after tokens_valid_after", token("k1", ids["renewed"], live, now), nil},
				{"unknown user", token("k1", ids["stray"], live, earlier), authn.ErrUnknownUser},
			} {
				p, err := v.Verify(ctx, tc.token)
				switch {
				case tc.want == nil && err != nil:
					t.Errorf("%s: Verify = %v, want accepted", tc.name, err)
				case tc.want == nil && (p.DisplayName == "" || p.Role != contracts.RoleUser):
					t.Errorf("%s: principal %+v lacks the replica's name and role", tc.name, p)
				case tc.want != nil && !errors.Is(err, tc.want):
					t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
				}
			}
		})
	}
}
