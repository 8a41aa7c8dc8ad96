package contracts

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// TypeUserRegisteredV1 is the type of UserRegisteredV1 events.
const TypeUserRegisteredV1 = "users.user.registered.v1"

// TypeUserUpdatedV1 is the type of UserUpdatedV1 events.
const TypeUserUpdatedV1 = "users.user.updated.v1"

// TypeUserDeletedV1 is the type of UserDeletedV1 events.
const TypeUserDeletedV1 = "users.user.deleted.v1"

// TypeSessionRevokedV1 is the type of SessionRevokedV1 events.
const TypeSessionRevokedV1 = "users.session.revoked.v1"

// TypeSigningKeyPublishedV1 is the type of SigningKeyPublishedV1 events.
const TypeSigningKeyPublishedV1 = "users.signingkey.published.v1"

// Role is what a user may do on the platform.
type Role string

// RoleUser is the role of everybody who signs up.
const RoleUser Role = "user"

// RoleAdmin may manage roles, ban and unban users and work the moderation queue.
const RoleAdmin Role = "admin"

// Status is where a user's account stands.
type Status string

// StatusActive is the status of an account that may log in.
const StatusActive Status = "active"

// StatusBanned is the status of an account an admin has banned: its tokens are
// refused, and it may not log in until it is unbanned.
const StatusBanned Status = "banned"

// StatusDeleted is the status of a deleted account. Deletion is also announced
// by UserDeletedV1, which is what consumers act on.
const StatusDeleted Status = "deleted"

// UserChange names a part of a user's snapshot that an update changed.
type UserChange string

// UserChangeDisplayName says that the display name changed.
const UserChangeDisplayName UserChange = "display_name"

// UserChangeRole says that the role changed.
const UserChangeRole UserChange = "role"

// UserChangeStatus says that the status changed.
const UserChangeStatus UserChange = "status"

// UserChangeTokensValidAfter says that tokens_valid_after moved forward: every
// token issued earlier is now invalid.
const UserChangeTokensValidAfter UserChange = "tokens_valid_after"

// UserMaxDisplayNameLength is the most characters (Unicode code points) a
// display name may have. scs-users refuses longer names at sign-up and on the
// account page, and consumers refuse an event that carries one.
const UserMaxDisplayNameLength = 50

// UserSnapshot is the public state of a user that other systems replicate. The
// registered and updated events carry all of it, so that a consumer replaces its
// copy rather than patching it.
type UserSnapshot struct {
	// UserID is the user's id, a UUID in lower-case hex.
	UserID string `json:"user_id"`
	// DisplayName is the name other users see, 1 to UserMaxDisplayNameLength
	// characters. It is user input: escape it wherever it is shown.
	DisplayName string `json:"display_name"`
	// Role is what the user may do.
	Role Role `json:"role"`
	// Status is where the user's account stands; tokens of a banned or deleted
	// user are refused.
	Status Status `json:"status"`
	// TokensValidAfter invalidates every token issued before it, for example
	// after a password change, "log out other devices" or a role change.
	TokensValidAfter time.Time `json:"tokens_valid_after"`
}

func (s UserSnapshot) validate(eventType string) error {
	return firstError(
		checkUUID(eventType, "user_id", s.UserID),
		checkLength(eventType, "display_name", s.DisplayName, 1, UserMaxDisplayNameLength),
		checkOneOf(eventType, "role", s.Role, RoleUser, RoleAdmin),
		checkOneOf(eventType, "status", s.Status, StatusActive, StatusBanned, StatusDeleted),
		checkTime(eventType, "tokens_valid_after", s.TokensValidAfter),
	)
}

// UserRegisteredV1 is the data of users.user.registered.v1: a user signed up.
// It is the first event of the users.user aggregate of the user's id.
type UserRegisteredV1 struct {
	UserSnapshot
}

// EventType returns TypeUserRegisteredV1.
func (UserRegisteredV1) EventType() string { return TypeUserRegisteredV1 }

// Subject returns the user's id.
func (p UserRegisteredV1) Subject() string { return p.UserID }

// Validate reports the first field that breaks the schema, as a *DataError.
func (p UserRegisteredV1) Validate() error { return p.validate(TypeUserRegisteredV1) }

// UserUpdatedV1 is the data of users.user.updated.v1: a user's snapshot changed.
// It carries the whole new snapshot, and Changes names what changed so that a
// consumer can react (refuse tokens, hide a banned user) without diffing.
type UserUpdatedV1 struct {
	UserSnapshot
	// Changes names at least one part of the snapshot that changed, each once.
	Changes []UserChange `json:"changes"`
}

// EventType returns TypeUserUpdatedV1.
func (UserUpdatedV1) EventType() string { return TypeUserUpdatedV1 }

// Subject returns the user's id.
func (p UserUpdatedV1) Subject() string { return p.UserID }

// Validate reports the first field that breaks the schema, as a *DataError.
func (p UserUpdatedV1) Validate() error {
	if err := p.validate(TypeUserUpdatedV1); err != nil {
		return err
	}
	if len(p.Changes) == 0 {
		return &DataError{Type: TypeUserUpdatedV1, Field: "changes", Reason: "is empty, must name at least one change"}
	}
	for i, c := range p.Changes {
		field := fmt.Sprintf("changes[%d]", i)
		if err := checkOneOf(TypeUserUpdatedV1, field, c,
			UserChangeDisplayName, UserChangeRole, UserChangeStatus, UserChangeTokensValidAfter); err != nil {
			return err
		}
		for _, earlier := range p.Changes[:i] {
			if earlier == c {
				return &DataError{Type: TypeUserUpdatedV1, Field: field, Reason: fmt.Sprintf("repeats %q", c)}
			}
		}
	}
	return nil
}

// Has reports whether the update changed c.
func (p UserUpdatedV1) Has(c UserChange) bool {
	return slices.Contains(p.Changes, c)
}

// UserDeletedV1 is the data of users.user.deleted.v1: a user's account was
// deleted, by the user or by an admin. It is the last event of the users.user
// aggregate of the user's id, so its aggregate version is newer than that of
// every registered and updated event before it.
//
// It deliberately carries no snapshot: scs-users has erased the display name,
// and consumers must now erase or pseudonymise everything personal they hold
// about the user (replace the replicated display name with a placeholder such
// as "deleted user", keep the id only where their own records need it), refuse
// the user's tokens, and ignore any older registered or updated event that
// arrives late rather than bring the name back.
type UserDeletedV1 struct {
	// UserID is the deleted user's id.
	UserID string `json:"user_id"`
	// DeletedAt is when the account was deleted; tokens are refused from then on.
	DeletedAt time.Time `json:"deleted_at"`
}

// EventType returns TypeUserDeletedV1.
func (UserDeletedV1) EventType() string { return TypeUserDeletedV1 }

// Subject returns the user's id.
func (p UserDeletedV1) Subject() string { return p.UserID }

// Validate reports the first field that breaks the schema, as a *DataError.
func (p UserDeletedV1) Validate() error {
	return firstError(
		checkUUID(TypeUserDeletedV1, "user_id", p.UserID),
		checkTime(TypeUserDeletedV1, "deleted_at", p.DeletedAt),
	)
}

// SessionRevokedV1 is the data of users.session.revoked.v1: a session ended
// before its tokens expired (logout, "log out other devices", revocation from
// the session list, ban or deletion). Consumers refuse every token whose sid
// claim is SessionID.
type SessionRevokedV1 struct {
	// SessionID is the revoked session, the sid claim of its tokens.
	SessionID string `json:"session_id"`
	// UserID is the user the session belonged to.
	UserID string `json:"user_id"`
	// RevokedAt is when the session was revoked.
	RevokedAt time.Time `json:"revoked_at"`
}

// EventType returns TypeSessionRevokedV1.
func (SessionRevokedV1) EventType() string { return TypeSessionRevokedV1 }

// Subject returns the session's id.
func (p SessionRevokedV1) Subject() string { return p.SessionID }

// Validate reports the first field that breaks the schema, as a *DataError.
func (p SessionRevokedV1) Validate() error {
	return firstError(
		checkUUID(TypeSessionRevokedV1, "session_id", p.SessionID),
		checkUUID(TypeSessionRevokedV1, "user_id", p.UserID),
		checkTime(TypeSessionRevokedV1, "revoked_at", p.RevokedAt),
	)
}

// AlgorithmEdDSA is the only signing algorithm of session tokens: Ed25519.
const AlgorithmEdDSA = "EdDSA"

var (
	// The characters of base64url that are safe in a JWT header and a URL.
	kidPattern = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,128}$`)
	// 43 characters encode 32 bytes with 4 bits to spare, which must be zero:
	// the last character is one whose low two bits are zero.
	publicKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$`)
)

// SigningKeyPublishedV1 is the data of users.signingkey.published.v1: a public key
// that verifies session tokens was published. Consumers keep every key and accept
// a token signed with it (its kid header names it) only while the current time
// lies within [NotBefore, NotAfter).
type SigningKeyPublishedV1 struct {
	// KeyID is the key's id, the kid header of the tokens it verifies.
	KeyID string `json:"kid"`
	// Algorithm is always AlgorithmEdDSA.
	Algorithm string `json:"algorithm"`
	// PublicKey is the 32-byte Ed25519 public key, base64url without padding.
	PublicKey string `json:"public_key"`
	// NotBefore is the start of the key's validity window.
	NotBefore time.Time `json:"not_before"`
	// NotAfter is the end of the key's validity window, after NotBefore.
	NotAfter time.Time `json:"not_after"`
}

// EventType returns TypeSigningKeyPublishedV1.
func (SigningKeyPublishedV1) EventType() string { return TypeSigningKeyPublishedV1 }

// Subject returns the key's id.
func (p SigningKeyPublishedV1) Subject() string { return p.KeyID }

// Validate reports the first field that breaks the schema, as a *DataError. It
// also checks what the schema cannot say: that NotAfter is after NotBefore.
func (p SigningKeyPublishedV1) Validate() error {
	err := firstError(
		checkPattern(TypeSigningKeyPublishedV1, "kid", p.KeyID, kidPattern,
			"1 to 128 letters, digits and the characters . _ ~ -"),
		checkOneOf(TypeSigningKeyPublishedV1, "algorithm", p.Algorithm, AlgorithmEdDSA),
		checkPattern(TypeSigningKeyPublishedV1, "public_key", p.PublicKey, publicKeyPattern,
			"a 32-byte Ed25519 key in base64url without padding"),
		checkTime(TypeSigningKeyPublishedV1, "not_before", p.NotBefore),
		checkTime(TypeSigningKeyPublishedV1, "not_after", p.NotAfter),
	)
	if err != nil {
		return err
	}
	if !p.NotAfter.After(p.NotBefore) {
		return &DataError{Type: TypeSigningKeyPublishedV1, Field: "not_after", Reason: "must be after not_before"}
	}
	return nil
}

// Key returns the Ed25519 public key, or a *DataError if PublicKey does not hold one.
func (p SigningKeyPublishedV1) Key() (ed25519.PublicKey, error) {
	if !publicKeyPattern.MatchString(p.PublicKey) {
		return nil, &DataError{Type: TypeSigningKeyPublishedV1, Field: "public_key", Reason: "is not a 32-byte Ed25519 key in base64url without padding"}
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(p.PublicKey)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, &DataError{Type: TypeSigningKeyPublishedV1, Field: "public_key", Reason: "is not a 32-byte Ed25519 key in base64url without padding"}
	}
	return ed25519.PublicKey(b), nil
}
