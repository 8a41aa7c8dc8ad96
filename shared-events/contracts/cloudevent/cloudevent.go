// Package cloudevent is the envelope every event between the systems travels in:
// CloudEvents 1.0 in JSON structured mode, with the extensions the platform relies on
// (sequence, aggregateversion, traceparent).
//
// Decoding is strict about the envelope, because a consumer that guesses at a
// malformed envelope replicates garbage, and tolerant of the data, because owners
// add fields to a payload within a major version.
package cloudevent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ContentType is the media type of an event in JSON structured mode.
const ContentType = "application/cloudevents+json"

// SpecVersion is the only CloudEvents version this package speaks.
const SpecVersion = "1.0"

// DataContentType is the media type of every payload on the platform.
const DataContentType = "application/json"

// Event is one CloudEvent. Data holds the JSON payload untouched; contracts
// decodes it into a typed payload.
type Event struct {
	ID      string
	Source  string
	Type    string
	Subject string
	Time    time.Time
	// Sequence is monotonic per owner and assigned by the owner's outbox in commit order.
	// Zero until the outbox has stored the event.
	Sequence int64
	// AggregateVersion is monotonic per aggregate (per Subject within a Type's aggregate).
	AggregateVersion int64
	// TraceParent is the W3C trace context of the request that caused the event, if any.
	TraceParent string
	// SignatureKey names the owner's key that signed the event, and Signature is
	// the owner's Ed25519 signature of SigningInput (see package eventsig). Both
	// are empty until the event leaves its owner.
	SignatureKey string
	Signature    string
	Data         json.RawMessage
}

// New returns an event with a fresh UUIDv7 id and the current time. Its data is
// the JSON encoding of data.
func New(source, typ, subject string, aggregateVersion int64, data any) (Event, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return Event{}, fmt.Errorf("cloudevent: new id: %w", err)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return Event{}, fmt.Errorf("cloudevent: encode data of %s: %w", typ, err)
	}
	ev := Event{
		ID:               id.String(),
		Source:           source,
		Type:             typ,
		Subject:          subject,
		Time:             time.Now().UTC(),
		AggregateVersion: aggregateVersion,
		Data:             raw,
	}
	if err := ev.validate(false); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// Aggregate names the aggregate an event belongs to: "<owner>.<aggregate>" of its
// type, so "users.user" for "users.user.registered.v1". Versions are compared per
// Aggregate and Subject.
func (e Event) Aggregate() string {
	_, aggregate, _ := parseType(e.Type)
	return aggregate
}

// Owner is the system that publishes the event: the first part of its type.
func (e Event) Owner() string {
	owner, _, _ := parseType(e.Type)
	return owner
}

// parseType splits "<owner>.<aggregate>.<event>.v<major>" and reports whether t
// has that form: owner [a-z][a-z0-9]*, aggregate and event [a-z][a-z0-9_]*, major
// a number from 1 without leading zeros. It runs for every event on every hop, so
// it is written out rather than a regular expression (a tenth of the time).
func parseType(t string) (owner, aggregate string, ok bool) {
	var parts [4]string
	rest := t
	for i := range parts {
		if i == len(parts)-1 {
			parts[i] = rest
			break
		}
		var found bool
		parts[i], rest, found = strings.Cut(rest, ".")
		if !found {
			return "", "", false
		}
	}
	if !name(parts[0], false) || !name(parts[1], true) || !name(parts[2], true) {
		return "", "", false
	}
	major := parts[3]
	if len(major) < 2 || major[0] != 'v' || major[1] < '1' || major[1] > '9' {
		return "", "", false
	}
	for _, c := range major[2:] {
		if c < '0' || c > '9' {
			return "", "", false
		}
	}
	return parts[0], t[:len(parts[0])+1+len(parts[1])], true
}

// name reports whether s is a lower-case letter followed by lower-case letters,
// digits and, if underscore, underscores.
func name(s string, underscore bool) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range s[1:] {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || underscore && c == '_') {
			return false
		}
	}
	return true
}

// DecodeError says what is wrong with an event that cannot be decoded.
type DecodeError struct {
	// Attribute is the offending attribute ("time", "data", ...), or "" when the
	// input is not a JSON object at all.
	Attribute string
	Reason    string
}

func (e *DecodeError) Error() string {
	if e.Attribute == "" {
		return "malformed event: " + e.Reason
	}
	return fmt.Sprintf("malformed event: attribute %q %s", e.Attribute, e.Reason)
}

var (
	extensionName      = regexp.MustCompile(`^[a-z0-9]{1,20}$`)
	traceParentPattern = regexp.MustCompile(`^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$`)
	sequencePattern    = regexp.MustCompile(`^[0-9]{1,20}$`)
	// time.Parse alone also accepts a one-digit hour, a comma before the
	// fraction and a 24-hour offset, none of which is RFC 3339.
	timePattern = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$`)
)

// sequenceWidth zero-pads the sequence so that it stays lexicographically ordered,
// as the CloudEvents sequence extension requires of its string value.
const sequenceWidth = 20

// MarshalJSON encodes the event in JSON structured mode.
func (e Event) MarshalJSON() ([]byte, error) {
	if err := e.validate(false); err != nil {
		return nil, err
	}
	w := wire{
		SpecVersion:      SpecVersion,
		ID:               e.ID,
		Source:           e.Source,
		Type:             e.Type,
		Subject:          e.Subject,
		Time:             e.Time.UTC().Format(time.RFC3339Nano),
		DataContentType:  DataContentType,
		AggregateVersion: e.AggregateVersion,
		TraceParent:      e.TraceParent,
		SignatureKey:     e.SignatureKey,
		Signature:        e.Signature,
		Data:             e.Data,
	}
	if e.Sequence > 0 {
		w.Sequence = fmt.Sprintf("%0*d", sequenceWidth, e.Sequence)
	}
	return json.Marshal(w)
}

type wire struct {
	SpecVersion      string          `json:"specversion"`
	ID               string          `json:"id"`
	Source           string          `json:"source"`
	Type             string          `json:"type"`
	Subject          string          `json:"subject"`
	Time             string          `json:"time"`
	DataContentType  string          `json:"datacontenttype"`
	Sequence         string          `json:"sequence,omitempty"`
	AggregateVersion int64           `json:"aggregateversion"`
	TraceParent      string          `json:"traceparent,omitempty"`
	SignatureKey     string          `json:"signaturekey,omitempty"`
	Signature        string          `json:"signature,omitempty"`
	Data             json.RawMessage `json:"data"`
}

// SigningInput is what the owner signs: the event's JSON encoding without its
// signature (with the key id, so that a signature cannot be moved to another
// key) and without its sequence, which the outbox assigns as it stores the
// signed event and which no consumer applies (it only pages the feed). It is
// computed from the decoded attributes, not from the bytes received, so a
// consumer checks the very values it is about to apply.
func (e Event) SigningInput() ([]byte, error) {
	e.Signature, e.Sequence = "", 0
	return e.MarshalJSON()
}

// Decode parses one event in JSON structured mode. Every failure is a *DecodeError.
// An event without a sequence is refused: on the wire every event has passed through
// an outbox.
func Decode(b []byte) (Event, error) {
	var attrs map[string]json.RawMessage
	if err := json.Unmarshal(b, &attrs); err != nil {
		return Event{}, &DecodeError{Reason: "not a JSON object: " + err.Error()}
	}
	if attrs == nil {
		return Event{}, &DecodeError{Reason: "not a JSON object"}
	}
	var ev Event
	str := func(name string, required bool) (string, error) {
		raw, ok := attrs[name]
		if !ok {
			if required {
				return "", &DecodeError{Attribute: name, Reason: "is missing"}
			}
			return "", nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", &DecodeError{Attribute: name, Reason: "is not a string"}
		}
		if s == "" {
			return "", &DecodeError{Attribute: name, Reason: "is empty"}
		}
		return s, nil
	}
	spec, err := str("specversion", true)
	if err != nil {
		return Event{}, err
	}
	if spec != SpecVersion {
		return Event{}, &DecodeError{Attribute: "specversion", Reason: fmt.Sprintf("is %q, want %q", spec, SpecVersion)}
	}
	if ev.ID, err = str("id", true); err != nil {
		return Event{}, err
	}
	if ev.Source, err = str("source", true); err != nil {
		return Event{}, err
	}
	if ev.Type, err = str("type", true); err != nil {
		return Event{}, err
	}
	if ev.Subject, err = str("subject", true); err != nil {
		return Event{}, err
	}
	ts, err := str("time", true)
	if err != nil {
		return Event{}, err
	}
	if !timePattern.MatchString(ts) {
		return Event{}, &DecodeError{Attribute: "time", Reason: "is not an RFC 3339 timestamp"}
	}
	if ev.Time, err = time.Parse(time.RFC3339Nano, ts); err != nil {
		return Event{}, &DecodeError{Attribute: "time", Reason: "is not an RFC 3339 timestamp"}
	}
	ct, err := str("datacontenttype", true)
	if err != nil {
		return Event{}, err
	}
	if ct != DataContentType {
		return Event{}, &DecodeError{Attribute: "datacontenttype", Reason: fmt.Sprintf("is %q, want %q", ct, DataContentType)}
	}
	seq, err := str("sequence", true)
	if err != nil {
		return Event{}, err
	}
	if !sequencePattern.MatchString(seq) {
		return Event{}, &DecodeError{Attribute: "sequence", Reason: "is not a string of decimal digits"}
	}
	if ev.Sequence, err = strconv.ParseInt(seq, 10, 64); err != nil || ev.Sequence < 1 {
		return Event{}, &DecodeError{Attribute: "sequence", Reason: "is not a positive 64-bit number"}
	}
	raw, ok := attrs["aggregateversion"]
	if !ok {
		return Event{}, &DecodeError{Attribute: "aggregateversion", Reason: "is missing"}
	}
	if err := json.Unmarshal(raw, &ev.AggregateVersion); err != nil {
		return Event{}, &DecodeError{Attribute: "aggregateversion", Reason: "is not an integer"}
	}
	if ev.TraceParent, err = str("traceparent", false); err != nil {
		return Event{}, err
	}
	if ev.SignatureKey, err = str("signaturekey", false); err != nil {
		return Event{}, err
	}
	if ev.Signature, err = str("signature", false); err != nil {
		return Event{}, err
	}
	data, ok := attrs["data"]
	if !ok {
		return Event{}, &DecodeError{Attribute: "data", Reason: "is missing"}
	}
	if d := bytes.TrimSpace(data); len(d) == 0 || d[0] != '{' {
		return Event{}, &DecodeError{Attribute: "data", Reason: "is not a JSON object"}
	}
	ev.Data = data
	for name := range attrs {
		if _, known := knownAttributes[name]; !known && !extensionName.MatchString(name) {
			return Event{}, &DecodeError{Attribute: name, Reason: "is not a valid CloudEvents attribute name"}
		}
	}
	if err := ev.validate(true); err != nil {
		return Event{}, err
	}
	return ev, nil
}

var knownAttributes = map[string]struct{}{
	"specversion": {}, "id": {}, "source": {}, "type": {}, "subject": {}, "time": {},
	"datacontenttype": {}, "sequence": {}, "aggregateversion": {}, "traceparent": {}, "data": {},
	"signaturekey": {}, "signature": {},
}

// Validate reports, as a *DecodeError, what would make the event impossible to
// encode or to decode.
func (e Event) Validate() error { return e.validate(false) }

// validate checks the attributes both encoder and decoder insist on.
func (e Event) validate(decoded bool) error {
	if _, err := uuid.Parse(e.ID); err != nil || len(e.ID) != 36 {
		return &DecodeError{Attribute: "id", Reason: "is not a UUID"}
	} else if u := uuid.MustParse(e.ID); u.Version() != 7 {
		return &DecodeError{Attribute: "id", Reason: fmt.Sprintf("is a version %d UUID, want version 7", u.Version())}
	}
	if e.Source == "" || e.Source[0] != '/' {
		return &DecodeError{Attribute: "source", Reason: `is not a path such as "/scs-users"`}
	}
	if _, _, ok := parseType(e.Type); !ok {
		return &DecodeError{Attribute: "type", Reason: fmt.Sprintf("%q is not of the form <owner>.<aggregate>.<event>.v<major>", e.Type)}
	}
	if "/scs-"+e.Owner() != e.Source {
		return &DecodeError{Attribute: "source", Reason: fmt.Sprintf("%q does not match the owner of type %q", e.Source, e.Type)}
	}
	if e.Subject == "" {
		return &DecodeError{Attribute: "subject", Reason: "is empty"}
	}
	if e.Time.IsZero() {
		return &DecodeError{Attribute: "time", Reason: "is missing"}
	}
	// The encoder writes the time in UTC, where an offset can push it out of
	// RFC 3339's four-digit years and make the event impossible to decode.
	if y := e.Time.UTC().Year(); y < 0 || y > 9999 {
		return &DecodeError{Attribute: "time", Reason: "is outside the years 0000 to 9999 in UTC"}
	}
	if e.AggregateVersion < 1 {
		return &DecodeError{Attribute: "aggregateversion", Reason: "must be 1 or more"}
	}
	if e.TraceParent != "" && !traceParentPattern.MatchString(e.TraceParent) {
		return &DecodeError{Attribute: "traceparent", Reason: "is not a W3C traceparent"}
	}
	if !decoded {
		if d := bytes.TrimSpace(e.Data); len(d) == 0 || d[0] != '{' {
			return &DecodeError{Attribute: "data", Reason: "is not a JSON object"}
		}
	}
	return nil
}
