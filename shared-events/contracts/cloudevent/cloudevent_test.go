package cloudevent_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scs-platform/shared-events/contracts/cloudevent"
)

// validEnvelope is a well-formed event on the wire; the malformed cases below
// each break exactly one thing about it.
func validEnvelope() map[string]any {
	return map[string]any{
		"specversion":      "1.0",
		"id":               "01a20865-b1b2-7964-9b17-2fd15320a117",
		"source":           "/scs-users",
		"type":             "users.user.registered.v1",
		"subject":          "7fe81eca-6a18-4a14-ac14-93f6d13c46b0",
		"time":             "2025-03-14T09:26:53.589Z",
		"datacontenttype":  "application/json",
		"sequence":         "00000000000000000042",
		"aggregateversion": 1,
		"traceparent":      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"data":             map[string]any{"user_id": "7fe81eca-6a18-4a14-ac14-93f6d13c46b0", "display_name": "Ada"},
	}
}

func envelope(t testing.TB, change func(m map[string]any)) []byte {
	t.Helper()
	m := validEnvelope()
	if change != nil {
		change(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func with(name string, value any) func(map[string]any) {
	return func(m map[string]any) { m[name] = value }
}

func without(name string) func(map[string]any) {
	return func(m map[string]any) { delete(m, name) }
}

type malformedCase struct {
	name string
	// raw is the input when set; otherwise change is applied to validEnvelope.
	raw       string
	change    func(map[string]any)
	attribute string
}

var malformedCases = []malformedCase{
	{name: "not JSON", raw: `not json`, attribute: ""},
	{name: "empty input", raw: ``, attribute: ""},
	{name: "JSON array", raw: `[{"specversion":"1.0"}]`, attribute: ""},
	{name: "JSON null", raw: `null`, attribute: ""},
	{name: "JSON string", raw: `"event"`, attribute: ""},
	{name: "trailing garbage", raw: `{"specversion":"1.0"} x`, attribute: ""},

	{name: "missing specversion", change: without("specversion"), attribute: "specversion"},
	{name: "wrong specversion", change: with("specversion", "0.3"), attribute: "specversion"},
	{name: "numeric specversion", change: with("specversion", 1.0), attribute: "specversion"},

	{name: "missing id", change: without("id"), attribute: "id"},
	{name: "empty id", change: with("id", ""), attribute: "id"},
	{name: "id not a UUID", change: with("id", "event-42"), attribute: "id"},
	{name: "id UUID without dashes", change: with("id", "01a20865b1b279649b172fd15320a117"), attribute: "id"},
	{name: "id UUID in braces", change: with("id", "{01a20865-b1b2-7964-9b17-2fd15320a117}"), attribute: "id"},
	{name: "non-v7 id", change: with("id", "7fe81eca-6a18-4a14-ac14-93f6d13c46b0"), attribute: "id"},
	{name: "id is a number", change: with("id", 42), attribute: "id"},

	{name: "missing source", change: without("source"), attribute: "source"},
	{name: "source not a path", change: with("source", "scs-users"), attribute: "source"},
	{name: "source of another owner", change: with("source", "/scs-chat"), attribute: "source"},

	{name: "missing type", change: without("type"), attribute: "type"},
	{name: "type without version", change: with("type", "users.user.registered"), attribute: "type"},
	{name: "type with version 0", change: with("type", "users.user.registered.v0"), attribute: "type"},
	{name: "type in camel case", change: with("type", "users.User.registered.v1"), attribute: "type"},
	{name: "type with too few parts", change: with("type", "users.registered.v1"), attribute: "type"},

	{name: "missing subject", change: without("subject"), attribute: "subject"},
	{name: "empty subject", change: with("subject", ""), attribute: "subject"},

	{name: "missing time", change: without("time"), attribute: "time"},
	{name: "time in words", change: with("time", "yesterday"), attribute: "time"},
	{name: "time with a space", change: with("time", "2025-03-14 09:26:53Z"), attribute: "time"},
	{name: "time without zone", change: with("time", "2025-03-14T09:26:53"), attribute: "time"},
	{name: "time with one-digit hour", change: with("time", "2025-03-14T9:26:53Z"), attribute: "time"},
	{name: "time with comma fraction", change: with("time", "2025-03-14T09:26:53,5Z"), attribute: "time"},
	{name: "time with 24 hour offset", change: with("time", "2025-03-14T09:26:53+24:00"), attribute: "time"},
	{name: "time before year 0 in UTC", change: with("time", "0000-01-01T00:00:00+01:00"), attribute: "time"},
	{name: "time after year 9999 in UTC", change: with("time", "9999-12-31T23:00:00-02:00"), attribute: "time"},
	{name: "zero time", change: with("time", "0001-01-01T00:00:00Z"), attribute: "time"},
	{name: "time as a number", change: with("time", 1741944413), attribute: "time"},

	{name: "missing datacontenttype", change: without("datacontenttype"), attribute: "datacontenttype"},
	{name: "wrong datacontenttype", change: with("datacontenttype", "text/plain"), attribute: "datacontenttype"},

	{name: "missing sequence", change: without("sequence"), attribute: "sequence"},
	{name: "sequence as a number", change: with("sequence", 42), attribute: "sequence"},
	{name: "sequence not digits", change: with("sequence", "4x2"), attribute: "sequence"},
	{name: "negative sequence", change: with("sequence", "-1"), attribute: "sequence"},
	{name: "sequence zero", change: with("sequence", "00000000000000000000"), attribute: "sequence"},
	{name: "sequence too long", change: with("sequence", "000000000000000000042"), attribute: "sequence"},
	{name: "sequence beyond 64 bits", change: with("sequence", "99999999999999999999"), attribute: "sequence"},

	{name: "missing aggregateversion", change: without("aggregateversion"), attribute: "aggregateversion"},
	{name: "aggregateversion 0", change: with("aggregateversion", 0), attribute: "aggregateversion"},
	{name: "negative aggregateversion", change: with("aggregateversion", -3), attribute: "aggregateversion"},
	{name: "aggregateversion as a string", change: with("aggregateversion", "3"), attribute: "aggregateversion"},
	{name: "fractional aggregateversion", change: with("aggregateversion", 1.5), attribute: "aggregateversion"},
	{name: "null aggregateversion", change: with("aggregateversion", nil), attribute: "aggregateversion"},

	{name: "traceparent in words", change: with("traceparent", "trace-me"), attribute: "traceparent"},
	{name: "traceparent in upper case", change: with("traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01"), attribute: "traceparent"},
	{name: "empty traceparent", change: with("traceparent", ""), attribute: "traceparent"},

	{name: "missing data", change: without("data"), attribute: "data"},
	{name: "data is a string", change: with("data", `{"user_id":"x"}`), attribute: "data"},
	{name: "data is an array", change: with("data", []any{map[string]any{"user_id": "x"}}), attribute: "data"},
	{name: "data is null", change: with("data", nil), attribute: "data"},

	{name: "extension name in upper case", change: with("Region", "eu"), attribute: "Region"},
	{name: "extension name with a dash", change: with("trace-id", "abc"), attribute: "trace-id"},
	{name: "extension name longer than 20", change: with("averyveryverylongname", "x"), attribute: "averyveryverylongname"},
}

func (c malformedCase) input(t testing.TB) []byte {
	if c.change == nil {
		return []byte(c.raw)
	}
	return envelope(t, c.change)
}

func TestDecodeMalformed(t *testing.T) {
	t.Parallel()
	for _, c := range malformedCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ev, err := cloudevent.Decode(c.input(t))
			if err == nil {
				t.Fatalf("Decode accepted a malformed event: %+v", ev)
			}
			var de *cloudevent.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode error is %T (%v), want *cloudevent.DecodeError", err, err)
			}
			if de.Attribute != c.attribute {
				t.Errorf("Decode error names attribute %q, want %q (error: %v)", de.Attribute, c.attribute, err)
			}
			if de.Reason == "" {
				t.Errorf("Decode error has no reason: %v", err)
			}
			if c.attribute != "" && !strings.Contains(err.Error(), `"`+c.attribute+`"`) {
				t.Errorf("error message %q does not name attribute %q", err, c.attribute)
			}
		})
	}
}

func TestDecodeValid(t *testing.T) {
	t.Parallel()
	ev, err := cloudevent.Decode(envelope(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := cloudevent.Event{
		ID:               "01a20865-b1b2-7964-9b17-2fd15320a117",
		Source:           "/scs-users",
		Type:             "users.user.registered.v1",
		Subject:          "7fe81eca-6a18-4a14-ac14-93f6d13c46b0",
		Time:             time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC),
		Sequence:         42,
		AggregateVersion: 1,
		TraceParent:      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		Data:             json.RawMessage(`{"display_name":"Ada","user_id":"7fe81eca-6a18-4a14-ac14-93f6d13c46b0"}`),
	}
	assertEqualEvents(t, ev, want)
	if got := ev.Aggregate(); got != "users.user" {
		t.Errorf("Aggregate() = %q, want %q", got, "users.user")
	}
	if got := ev.Owner(); got != "users" {
		t.Errorf("Owner() = %q, want %q", got, "users")
	}
}

func TestDecodeTolerates(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		change func(map[string]any)
		check  func(t *testing.T, ev cloudevent.Event)
	}{
		{
			name: "unknown data fields",
			change: with("data", map[string]any{
				"user_id": "7fe81eca-6a18-4a14-ac14-93f6d13c46b0", "avatar": map[string]any{"url": "/a.png"}, "shoe_size": 44,
			}),
			check: func(t *testing.T, ev cloudevent.Event) {
				var data map[string]any
				if err := json.Unmarshal(ev.Data, &data); err != nil {
					t.Fatal(err)
				}
				if _, ok := data["shoe_size"]; !ok {
					t.Errorf("unknown data field was dropped: %s", ev.Data)
				}
			},
		},
		{
			name:   "empty data object",
			change: with("data", map[string]any{}),
			check: func(t *testing.T, ev cloudevent.Event) {
				if string(ev.Data) != "{}" {
					t.Errorf("Data = %s, want {}", ev.Data)
				}
			},
		},
		{
			name:   "unknown extension",
			change: with("region", "eu1"),
		},
		{
			name:   "sequence without padding",
			change: with("sequence", "42"),
			check: func(t *testing.T, ev cloudevent.Event) {
				if ev.Sequence != 42 {
					t.Errorf("Sequence = %d, want 42", ev.Sequence)
				}
			},
		},
		{
			name:   "time with offset",
			change: with("time", "2025-03-14T10:26:53.589+01:00"),
			check: func(t *testing.T, ev cloudevent.Event) {
				want := time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC)
				if !ev.Time.Equal(want) {
					t.Errorf("Time = %v, want %v", ev.Time, want)
				}
			},
		},
		{
			name:   "missing traceparent",
			change: without("traceparent"),
			check: func(t *testing.T, ev cloudevent.Event) {
				if ev.TraceParent != "" {
					t.Errorf("TraceParent = %q, want empty", ev.TraceParent)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ev, err := cloudevent.Decode(envelope(t, c.change))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if c.check != nil {
				c.check(t, ev)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	ev, err := cloudevent.New("/scs-chat", "chat.report.filed.v1", "9a985677-1cf0-47fa-b0a9-f3a38cb94210", 1,
		map[string]any{"reason": "spam <script>", "report_id": "9a985677-1cf0-47fa-b0a9-f3a38cb94210"})
	if err != nil {
		t.Fatal(err)
	}
	ev.Sequence = 7
	ev.TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	got, err := cloudevent.Decode(b)
	if err != nil {
		t.Fatalf("Decode(%s): %v", b, err)
	}
	assertEqualEvents(t, got, ev)

	var wire map[string]any
	if err := json.Unmarshal(b, &wire); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]any{
		"specversion": "1.0", "datacontenttype": "application/json", "sequence": "00000000000000000007",
		"aggregateversion": 1.0, "source": "/scs-chat",
	} {
		if wire[name] != want {
			t.Errorf("wire attribute %q = %#v, want %#v", name, wire[name], want)
		}
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	before := time.Now()
	ev, err := cloudevent.New("/scs-users", "users.user.deleted.v1", "u1", 3, struct {
		UserID string `json:"user_id"`
	}{"u1"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := uuid.Parse(ev.ID)
	if err != nil || id.Version() != 7 {
		t.Errorf("ID = %q, want a version 7 UUID", ev.ID)
	}
	if ev.Time.Location() != time.UTC || ev.Time.Before(before.Add(-time.Second)) || ev.Time.After(time.Now().Add(time.Second)) {
		t.Errorf("Time = %v, want now in UTC", ev.Time)
	}
	if ev.Sequence != 0 {
		t.Errorf("Sequence = %d, want 0 until the outbox assigns one", ev.Sequence)
	}
	if string(ev.Data) != `{"user_id":"u1"}` {
		t.Errorf("Data = %s", ev.Data)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(`"sequence"`)) {
		t.Errorf("event without a sequence encoded one: %s", b)
	}
	if _, err := cloudevent.Decode(b); !isDecodeError(err, "sequence") {
		t.Errorf("Decode of an event that never passed an outbox: %v, want a sequence error", err)
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, source, typ, subject string
		version                    int64
		data                       any
		attribute                  string
	}{
		{"source of another owner", "/scs-chat", "users.user.updated.v1", "u1", 1, map[string]string{}, "source"},
		{"source not a path", "users", "users.user.updated.v1", "u1", 1, map[string]string{}, "source"},
		{"bad type", "/scs-users", "UserUpdated", "u1", 1, map[string]string{}, "type"},
		{"empty subject", "/scs-users", "users.user.updated.v1", "", 1, map[string]string{}, "subject"},
		{"version 0", "/scs-users", "users.user.updated.v1", "u1", 0, map[string]string{}, "aggregateversion"},
		{"data not an object", "/scs-users", "users.user.updated.v1", "u1", 1, []string{"a"}, "data"},
		{"data null", "/scs-users", "users.user.updated.v1", "u1", 1, nil, "data"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := cloudevent.New(c.source, c.typ, c.subject, c.version, c.data)
			if !isDecodeError(err, c.attribute) {
				t.Errorf("New: %v, want a *DecodeError naming %q", err, c.attribute)
			}
		})
	}
	t.Run("data that cannot be encoded", func(t *testing.T) {
		if _, err := cloudevent.New("/scs-users", "users.user.updated.v1", "u1", 1, map[string]any{"f": func() {}}); err == nil {
			t.Error("New encoded a func")
		}
	})
}

func TestMarshalRefuses(t *testing.T) {
	t.Parallel()
	valid, err := cloudevent.Decode(envelope(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		change    func(*cloudevent.Event)
		attribute string
	}{
		{"non-v7 id", func(e *cloudevent.Event) { e.ID = "7fe81eca-6a18-4a14-ac14-93f6d13c46b0" }, "id"},
		{"zero time", func(e *cloudevent.Event) { e.Time = time.Time{} }, "time"},
		{"time beyond year 9999 in UTC", func(e *cloudevent.Event) {
			e.Time = time.Date(9999, 12, 31, 23, 0, 0, 0, time.FixedZone("", -2*3600))
		}, "time"},
		{"bad traceparent", func(e *cloudevent.Event) { e.TraceParent = "00-00" }, "traceparent"},
		{"no data", func(e *cloudevent.Event) { e.Data = nil }, "data"},
		{"data an array", func(e *cloudevent.Event) { e.Data = json.RawMessage(` [1]`) }, "data"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ev := valid
			c.change(&ev)
			if _, err := json.Marshal(ev); !isDecodeError(err, c.attribute) {
				t.Errorf("Marshal: %v, want a *DecodeError naming %q", err, c.attribute)
			}
		})
	}
}

func TestDecodeErrorMessage(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  cloudevent.DecodeError
		want string
	}{
		{cloudevent.DecodeError{Attribute: "time", Reason: "is missing"}, `malformed event: attribute "time" is missing`},
		{cloudevent.DecodeError{Reason: "not a JSON object"}, `malformed event: not a JSON object`},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			if got := c.err.Error(); got != c.want {
				t.Errorf("Error() = %q, want %q", got, c.want)
			}
		})
	}
}

func TestGoldenSamplesDecode(t *testing.T) {
	t.Parallel()
	for _, path := range goldenPaths(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := cloudevent.Decode(b)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			again, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			// The goldens are written the way the encoder writes, so re-encoding
			// changes nothing but whitespace and attribute order.
			if !jsonEqual(t, again, b) {
				t.Errorf("re-encoded golden differs:\n got %s\nwant %s", again, b)
			}
		})
	}
}

// goldenPaths are the golden samples of the contracts package: real events
// of every type make the best seeds and round-trip checks.
func goldenPaths(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "golden", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no golden samples in ../contracts/testdata/golden")
	}
	return paths
}

func FuzzDecode(f *testing.F) {
	for _, path := range goldenPaths(f) {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, c := range malformedCases {
		f.Add(c.input(f))
	}
	f.Add(envelope(f, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := cloudevent.Decode(b)
		if err != nil {
			var de *cloudevent.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode error is %T (%v), want *cloudevent.DecodeError", err, err)
			}
			return
		}
		encoded, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("Marshal of a decoded event: %v\nevent: %+v", err, ev)
		}
		again, err := cloudevent.Decode(encoded)
		if err != nil {
			t.Fatalf("Decode of a re-encoded event: %v\nencoded: %s", err, encoded)
		}
		assertEqualEvents(t, again, ev)
	})
}

func assertEqualEvents(t *testing.T, got, want cloudevent.Event) {
	t.Helper()
	if !got.Time.Equal(want.Time) {
		t.Errorf("Time = %v, want %v", got.Time, want.Time)
	}
	if !jsonEqual(t, got.Data, want.Data) {
		t.Errorf("Data = %s, want %s", got.Data, want.Data)
	}
	got.Time, want.Time = time.Time{}, time.Time{}
	got.Data, want.Data = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("event = %+v, want %+v", got, want)
	}
}

// jsonEqual reports whether a and b are the same JSON value, whatever their
// whitespace, key order and string escapes.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	va, errA := decodeJSON(a)
	vb, errB := decodeJSON(b)
	if errA != nil || errB != nil {
		t.Fatalf("not JSON: %v / %v", errA, errB)
	}
	return reflect.DeepEqual(va, vb)
}

func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

func isDecodeError(err error, attribute string) bool {
	var de *cloudevent.DecodeError
	return errors.As(err, &de) && de.Attribute == attribute
}
