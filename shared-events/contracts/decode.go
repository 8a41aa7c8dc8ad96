package contracts

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/scs-platform/shared-events/contracts/cloudevent"
)

// DataError says which field of an event's data breaks the contract of its type.
type DataError struct {
	// Type is the type of the event whose data is wrong.
	Type string
	// Field is the JSON name of the offending field, with an index for an array
	// element ("changes[1]"), or "" when the data as a whole is wrong.
	Field string
	// Reason says what is wrong in plain words, for example "is missing".
	Reason string
}

// Error names the type and the field, for example
// `users.user.registered.v1 event data: field "role" is missing`.
func (e *DataError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s event data: %s", e.Type, e.Reason)
	}
	return fmt.Sprintf("%s event data: field %q %s", e.Type, e.Field, e.Reason)
}

// Decode returns the payload of ev, an event of T's type. Data fields that T does
// not know are ignored; everything else the type's schema forbids is a *DataError
// naming the field, and so is a payload whose subject field differs from the
// event's subject. An event of another type is a *DataError without a field.
func Decode[T Payload](ev cloudevent.Event) (T, error) {
	var zero T
	if want := zero.EventType(); ev.Type != want {
		return zero, &DataError{Type: ev.Type, Reason: "cannot be decoded as " + want}
	}
	p, err := decodeData[T](ev.Data)
	if err != nil {
		return zero, err
	}
	if err := checkSubject(ev, p); err != nil {
		return zero, err
	}
	return p, nil
}

// DecodeEvent decodes ev's data into the payload type registered for its type, for
// consumers that dispatch with a type switch. The payload is a value of the type's
// struct (UserRegisteredV1, not *UserRegisteredV1). An unregistered type is an error
// that wraps ErrUnknownType; anything else is as for Decode.
func DecodeEvent(ev cloudevent.Event) (Payload, error) {
	info, ok := Lookup(ev.Type)
	if !ok {
		return nil, fmt.Errorf("contracts: decode: %w %q", ErrUnknownType, ev.Type)
	}
	p, err := info.decodeData(ev.Data)
	if err != nil {
		return nil, err
	}
	if err := checkSubject(ev, p); err != nil {
		return nil, err
	}
	return p, nil
}

// checkSubject makes sure that the event is about the aggregate its data names:
// consumers key their replicas and versions on the subject.
func checkSubject(ev cloudevent.Event, p Payload) error {
	if s := p.Subject(); s != ev.Subject {
		info, _ := Lookup(ev.Type)
		return &DataError{Type: ev.Type, Field: info.SubjectField, Reason: fmt.Sprintf("is %q but the event's subject is %q", s, ev.Subject)}
	}
	return nil
}

func decodeData[T Payload](data []byte) (T, error) {
	var p T
	if err := decodeFields(p.EventType(), data, &p); err != nil {
		var zero T
		return zero, err
	}
	if err := p.Validate(); err != nil {
		var zero T
		return zero, err
	}
	return p, nil
}

// decodeFields fills the struct dst points to from the JSON object data one field
// at a time, so that an error can name the field; encoding/json would also match
// names case-insensitively, which the schema does not. A field is required unless
// its json tag says omitempty or omitzero, and such an optional field is either
// left out or holds a value other than its zero value; embedded structs without a
// tag are flattened as encoding/json does.
func decodeFields(eventType string, data []byte, dst any) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
		return &DataError{Type: eventType, Reason: "is not a JSON object"}
	}
	return decodeStruct(eventType, fields, reflect.ValueOf(dst).Elem())
}

func decodeStruct(eventType string, fields map[string]json.RawMessage, v reflect.Value) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			if err := decodeStruct(eventType, fields, v.Field(i)); err != nil {
				return err
			}
			continue
		}
		name, options, _ := strings.Cut(tag, ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		opts := strings.Split(options, ",")
		optional := slices.Contains(opts, "omitempty") || slices.Contains(opts, "omitzero")
		raw, ok := fields[name]
		if !ok {
			if optional {
				continue
			}
			return &DataError{Type: eventType, Field: name, Reason: "is missing"}
		}
		if err := decodeValue(raw, v.Field(i)); err != nil {
			return &DataError{Type: eventType, Field: name, Reason: "must be " + describeType(f.Type)}
		}
		// An optional field that is there with its zero value, such as "", would
		// read as left out, pass Validate and vanish when the payload is encoded
		// again, while the schema refuses it.
		if optional && v.Field(i).IsZero() {
			return &DataError{Type: eventType, Field: name, Reason: "is empty; leave the field out instead"}
		}
	}
	return nil
}

var (
	timeType = reflect.TypeFor[time.Time]()
	errNull  = errors.New("null")
)

func decodeValue(raw json.RawMessage, v reflect.Value) error {
	// JSON null would leave the Go zero value in place, and the schema allows
	// null nowhere.
	if string(raw) == "null" {
		return errNull
	}
	if v.Type() == timeType {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		t, err := parseTime(s)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(t))
		return nil
	}
	return json.Unmarshal(raw, v.Addr().Interface())
}

func describeType(t reflect.Type) string {
	switch {
	case t == timeType:
		return `an RFC 3339 timestamp such as "2026-01-02T15:04:05Z"`
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return "an array of strings"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "an integer"
	default:
		return "a JSON value that decodes into " + t.String()
	}
}
