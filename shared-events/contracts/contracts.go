// Package contracts is the published language between the systems: every event
// type, its typed payload, its JSON Schema and where it is published.
//
// An owner builds a payload and wraps it with NewEvent, which validates it first.
// A consumer binds its queue to the routing keys it needs (Types lists them with
// their exchanges) and decodes with Decode, or with DecodeEvent when it dispatches
// on the type.
//
// Within a major version a payload only gains optional fields, so decoding ignores
// fields it does not know and refuses everything else the schema forbids: a missing
// field, a field of the wrong JSON type, a value outside its enum or format. Any
// other change is a new type with the next major version, published side by side
// with the old one until every consumer has moved.
package contracts

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/scs-platform/shared-events/contracts/cloudevent"
)

// OwnerUsers is the owner name of scs-users: the first part of its event types.
const OwnerUsers = "users"

// OwnerChat is the owner name of scs-chat: the first part of its event types.
const OwnerChat = "chat"

// OwnerCards is the owner name of scs-cards: the first part of its event types.
const OwnerCards = "cards"

// ExchangeUsers is the topic exchange scs-users publishes to.
const ExchangeUsers = OwnerUsers + ".events"

// ExchangeChat is the topic exchange scs-chat publishes to.
const ExchangeChat = OwnerChat + ".events"

// ExchangeCards is the topic exchange scs-cards publishes to.
const ExchangeCards = OwnerCards + ".events"

// SourceUsers is the CloudEvents source of every event scs-users publishes.
const SourceUsers = "/scs-" + OwnerUsers

// SourceChat is the CloudEvents source of every event scs-chat publishes.
const SourceChat = "/scs-" + OwnerChat

// SourceCards is the CloudEvents source of every event scs-cards publishes.
const SourceCards = "/scs-" + OwnerCards

// Payload is the data of the events of one type. Every payload type of this
// package is registered in Types.
type Payload interface {
	// EventType is the type of the events that carry the payload.
	EventType() string
	// Subject is the subject of those events: the id of the aggregate the
	// payload is about, repeated from one of its fields.
	Subject() string
	// Validate reports the first field that breaks the type's schema, as a
	// *DataError.
	Validate() error
}

// ErrUnknownType is wrapped by the errors about event types that are not registered.
var ErrUnknownType = errors.New("unknown event type")

// TypeInfo describes one event type and where it is published.
type TypeInfo struct {
	// Type is the event type, for example "users.user.registered.v1". It is also
	// the routing key.
	Type string
	// Owner is the system that publishes the type: the first part of Type.
	Owner string
	// Source is the CloudEvents source of the type's events.
	Source string
	// Exchange is the owner's topic exchange.
	Exchange string
	// Aggregate is "<owner>.<aggregate>", the first two parts of Type. Aggregate
	// versions count per Aggregate and subject, across the aggregate's types.
	Aggregate string
	// SubjectField is the data field whose value is the event's subject.
	SubjectField string
	// GoType is the payload's Go type, a struct that implements Payload.
	GoType reflect.Type
	// Summary says in one sentence what has happened when an event of the type
	// is published.
	Summary string

	decodeData func([]byte) (Payload, error)
}

// RoutingKey is the routing key events of the type are published with: the type.
func (t TypeInfo) RoutingKey() string { return t.Type }

var registry = []TypeInfo{
	register[UserRegisteredV1]("user_id", "A user signed up."),
	register[UserUpdatedV1]("user_id", "A user's public profile, role, status or token validity changed."),
	register[UserDeletedV1]("user_id", "A user's account was deleted; their personal data must be erased."),
	register[SessionRevokedV1]("session_id", "A session ended (logout, revocation, ban or deletion); its tokens are no longer valid."),
	register[SigningKeyPublishedV1]("kid", "A public key that verifies session tokens was published, with its validity window."),
	register[ReportFiledV1]("report_id", "A user reported another user from a chat conversation."),
	register[AccountOpenedV1]("account_id", "A user opened a card account, with its currency and credit limit."),
	register[AccountClosedV1]("account_id", "A card account was closed by its holder or an admin, or because its holder's user account was deleted."),
	register[CardIssuedV1]("card_id", "A physical or virtual card was issued on an account; of its number, only the last four digits are published."),
	register[CardStatusChangedV1]("card_id", "A card was frozen, unfrozen or cancelled by its holder, an admin or the system."),
	register[StatementIssuedV1]("statement_id", "An account's statement for a period was issued, with its balances, the amount due and the due date."),
}

func register[T Payload](subjectField, summary string) TypeInfo {
	var p T
	typ := p.EventType()
	parts := strings.Split(typ, ".")
	owner := parts[0]
	return TypeInfo{
		Type:         typ,
		Owner:        owner,
		Source:       "/scs-" + owner,
		Exchange:     owner + ".events",
		Aggregate:    parts[0] + "." + parts[1],
		SubjectField: subjectField,
		GoType:       reflect.TypeFor[T](),
		Summary:      summary,
		decodeData: func(data []byte) (Payload, error) {
			p, err := decodeData[T](data)
			if err != nil {
				return nil, err
			}
			return p, nil
		},
	}
}

// Types lists every registered event type, ordered by owner and type.
func Types() []TypeInfo {
	types := slices.Clone(registry)
	slices.SortFunc(types, func(a, b TypeInfo) int { return strings.Compare(a.Type, b.Type) })
	return types
}

// Lookup returns the registered type named eventType.
func Lookup(eventType string) (TypeInfo, bool) {
	i := slices.IndexFunc(registry, func(t TypeInfo) bool { return t.Type == eventType })
	if i < 0 {
		return TypeInfo{}, false
	}
	return registry[i], true
}

// NewEvent validates p and wraps it in a new event of its type, from its owner,
// about its subject. aggregateVersion is the aggregate's version after the change;
// the outbox assigns the sequence when it stores the event.
func NewEvent(p Payload, aggregateVersion int64) (cloudevent.Event, error) {
	info, ok := Lookup(p.EventType())
	if !ok {
		return cloudevent.Event{}, fmt.Errorf("contracts: new event: %w %q", ErrUnknownType, p.EventType())
	}
	if err := p.Validate(); err != nil {
		return cloudevent.Event{}, err
	}
	return cloudevent.New(info.Source, info.Type, p.Subject(), aggregateVersion, p)
}
