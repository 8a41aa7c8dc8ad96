package contracts_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/contracts/cloudevent"
)

func TestRegistry(t *testing.T) {
	types := contracts.Types()
	if len(types) == 0 {
		t.Fatal("no registered types")
	}
	if !slices.IsSortedFunc(types, func(a, b contracts.TypeInfo) int { return strings.Compare(a.Type, b.Type) }) {
		t.Error("Types() is not ordered by type")
	}
	owners := map[string]struct{ exchange, source string }{
		contracts.OwnerUsers: {contracts.ExchangeUsers, contracts.SourceUsers},
		contracts.OwnerChat:  {contracts.ExchangeChat, contracts.SourceChat},
		contracts.OwnerCards: {contracts.ExchangeCards, contracts.SourceCards},
	}
	payloadType := reflect.TypeFor[contracts.Payload]()
	seen := map[string]bool{}
	for _, info := range types {
		t.Run(info.Type, func(t *testing.T) {
			if seen[info.Type] {
				t.Error("registered twice")
			}
			seen[info.Type] = true
			want, ok := owners[info.Owner]
			if !ok {
				t.Fatalf("owner %q has no exchange and source constants", info.Owner)
			}
			if info.Exchange != want.exchange || info.Source != want.source {
				t.Errorf("exchange, source = %q, %q, want %q, %q", info.Exchange, info.Source, want.exchange, want.source)
			}
			if info.RoutingKey() != info.Type {
				t.Errorf("RoutingKey() = %q, want the type", info.RoutingKey())
			}
			ev := cloudevent.Event{Type: info.Type}
			if info.Owner != ev.Owner() || info.Aggregate != ev.Aggregate() {
				t.Errorf("owner, aggregate = %q, %q; cloudevent says %q, %q", info.Owner, info.Aggregate, ev.Owner(), ev.Aggregate())
			}
			if info.GoType == nil || info.GoType.Kind() != reflect.Struct || !info.GoType.Implements(payloadType) {
				t.Fatalf("GoType %v is not a struct that implements Payload", info.GoType)
			}
			p := reflect.Zero(info.GoType).Interface().(contracts.Payload)
			if p.EventType() != info.Type {
				t.Errorf("%v.EventType() = %q", info.GoType, p.EventType())
			}
			if _, ok := jsonFields(info.GoType)[info.SubjectField]; !ok {
				t.Errorf("subject field %q is not a field of %v", info.SubjectField, info.GoType)
			}
			if info.Summary == "" {
				t.Error("no summary")
			}
			if got, ok := contracts.Lookup(info.Type); !ok || got.Type != info.Type {
				t.Errorf("Lookup(%q) = %v, %v", info.Type, got.Type, ok)
			}
		})
	}
	if _, ok := contracts.Lookup("users.user.registered.v9"); ok {
		t.Error("Lookup found an unregistered type")
	}
}

func TestTypeConstants(t *testing.T) {
	for constant, payload := range map[string]contracts.Payload{
		"users.user.registered.v1":      contracts.UserRegisteredV1{},
		"users.user.updated.v1":         contracts.UserUpdatedV1{},
		"users.user.deleted.v1":         contracts.UserDeletedV1{},
		"users.session.revoked.v1":      contracts.SessionRevokedV1{},
		"users.signingkey.published.v1": contracts.SigningKeyPublishedV1{},
		"chat.report.filed.v1":          contracts.ReportFiledV1{},
		"cards.account.opened.v1":       contracts.AccountOpenedV1{},
		"cards.account.closed.v1":       contracts.AccountClosedV1{},
		"cards.card.issued.v1":          contracts.CardIssuedV1{},
		"cards.card.statuschanged.v1":   contracts.CardStatusChangedV1{},
		"cards.statement.issued.v1":     contracts.StatementIssuedV1{},
	} {
		if payload.EventType() != constant {
			t.Errorf("%T.EventType() = %q, want %q", payload, payload.EventType(), constant)
		}
		if _, ok := contracts.Lookup(constant); !ok {
			t.Errorf("%s is not registered", constant)
		}
	}
	if n := len(contracts.Types()); n != 11 {
		t.Errorf("%d registered types; add the new one to this test", n)
	}
}

// TestEveryTypeHasItsFiles makes sure that nothing is registered without a
// schema, a golden sample and a frozen published schema, and that no such file
// is left over from a type that is gone.
func TestEveryTypeHasItsFiles(t *testing.T) {
	var registered []string
	for _, info := range contracts.Types() {
		registered = append(registered, info.Type+".json")
	}
	dirs := map[string]fs.FS{
		"schemas (embedded)": contracts.Schemas(),
		"schemas":            os.DirFS("schemas"),
		"testdata/golden":    os.DirFS(filepath.Join("testdata", "golden")),
		"testdata/published": os.DirFS(filepath.Join("testdata", "published")),
	}
	for name, dir := range dirs {
		t.Run(name, func(t *testing.T) {
			files, err := fs.Glob(dir, "*.json")
			if err != nil {
				t.Fatal(err)
			}
			sort.Strings(files)
			if !slices.Equal(files, sortedCopy(registered)) {
				t.Errorf("files %v, want one per registered type: %v", files, sortedCopy(registered))
			}
		})
	}
	for _, info := range contracts.Types() {
		if _, err := contracts.Schema(info.Type); err != nil {
			t.Errorf("Schema(%q): %v", info.Type, err)
		}
	}
	if _, err := contracts.Schema("../contracts.go"); !errors.Is(err, contracts.ErrUnknownType) {
		t.Errorf("Schema of an unregistered type: %v, want ErrUnknownType", err)
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	sort.Strings(c)
	return c
}

var sequenceOnTheWire = regexp.MustCompile(`^"[0-9]{20}"$`)

func TestGoldenSamples(t *testing.T) {
	schemas := compileSchemas(t)
	for _, info := range contracts.Types() {
		t.Run(info.Type, func(t *testing.T) {
			g := readGolden(t, info.Type)
			ev, err := cloudevent.Decode(g.raw)
			if err != nil {
				t.Fatalf("cloudevent.Decode: %v", err)
			}
			if ev.Type != info.Type || ev.Source != info.Source || ev.Aggregate() != info.Aggregate {
				t.Errorf("type, source, aggregate = %q, %q, %q; want %q, %q, %q",
					ev.Type, ev.Source, ev.Aggregate(), info.Type, info.Source, info.Aggregate)
			}
			if seq := string(g.wire["sequence"]); !sequenceOnTheWire.MatchString(seq) {
				t.Errorf("sequence %s is not a zero-padded 20-digit string", seq)
			}
			if v := string(g.wire["aggregateversion"]); !regexp.MustCompile(`^[1-9][0-9]*$`).MatchString(v) {
				t.Errorf("aggregateversion %s is not a positive JSON integer", v)
			}

			if err := validateSchema(schemas[info.Type], ev.Data); err != nil {
				t.Errorf("data does not validate against the schema: %v", err)
			}

			p, err := contracts.DecodeEvent(ev)
			if err != nil {
				t.Fatalf("contracts.DecodeEvent: %v", err)
			}
			if reflect.TypeOf(p) != info.GoType {
				t.Errorf("DecodeEvent returned a %T, want %v", p, info.GoType)
			}
			if p.Subject() != ev.Subject {
				t.Errorf("payload subject %q, event subject %q", p.Subject(), ev.Subject)
			}
			// Every field of the golden is a field of the Go type and back.
			if again := mustJSON(t, p); !jsonEqual(t, again, ev.Data) {
				t.Errorf("payload re-encodes as\n%s\nwant\n%s", again, ev.Data)
			}

			if typed := decodeAs(t, ev, info.GoType); !reflect.DeepEqual(typed, p) {
				t.Errorf("Decode[%v] = %+v, DecodeEvent = %+v", info.GoType, typed, p)
			}

			fresh, err := contracts.NewEvent(p, ev.AggregateVersion)
			if err != nil {
				t.Fatalf("NewEvent: %v", err)
			}
			if fresh.Source != ev.Source || fresh.Type != ev.Type || fresh.Subject != ev.Subject || !jsonEqual(t, fresh.Data, ev.Data) {
				t.Errorf("NewEvent = %+v, want the golden's source, type, subject and data", fresh)
			}
		})
	}
}

// decodeAs calls the generic Decode for the registered Go type.
func decodeAs(t *testing.T, ev cloudevent.Event, goType reflect.Type) contracts.Payload {
	t.Helper()
	var (
		p   contracts.Payload
		err error
	)
	switch goType {
	case reflect.TypeFor[contracts.UserRegisteredV1]():
		p, err = contracts.Decode[contracts.UserRegisteredV1](ev)
	case reflect.TypeFor[contracts.UserUpdatedV1]():
		p, err = contracts.Decode[contracts.UserUpdatedV1](ev)
	case reflect.TypeFor[contracts.UserDeletedV1]():
		p, err = contracts.Decode[contracts.UserDeletedV1](ev)
	case reflect.TypeFor[contracts.SessionRevokedV1]():
		p, err = contracts.Decode[contracts.SessionRevokedV1](ev)
	case reflect.TypeFor[contracts.SigningKeyPublishedV1]():
		p, err = contracts.Decode[contracts.SigningKeyPublishedV1](ev)
	case reflect.TypeFor[contracts.ReportFiledV1]():
		p, err = contracts.Decode[contracts.ReportFiledV1](ev)
	case reflect.TypeFor[contracts.AccountOpenedV1]():
		p, err = contracts.Decode[contracts.AccountOpenedV1](ev)
	case reflect.TypeFor[contracts.AccountClosedV1]():
		p, err = contracts.Decode[contracts.AccountClosedV1](ev)
	case reflect.TypeFor[contracts.CardIssuedV1]():
		p, err = contracts.Decode[contracts.CardIssuedV1](ev)
	case reflect.TypeFor[contracts.CardStatusChangedV1]():
		p, err = contracts.Decode[contracts.CardStatusChangedV1](ev)
	case reflect.TypeFor[contracts.StatementIssuedV1]():
		p, err = contracts.Decode[contracts.StatementIssuedV1](ev)
	default:
		t.Fatalf("decodeAs does not know %v", goType)
	}
	if err != nil {
		t.Fatalf("Decode[%v]: %v", goType, err)
	}
	return p
}

// TestSchemaMatchesGoType makes sure that the schema and the Go type name the
// same fields and agree on which of them are required.
func TestSchemaMatchesGoType(t *testing.T) {
	for _, info := range contracts.Types() {
		t.Run(info.Type, func(t *testing.T) {
			s := schemaDoc(t, info.Type)
			props, _ := s["properties"].(map[string]any)
			var schemaProps, schemaRequired []string
			for name := range props {
				schemaProps = append(schemaProps, name)
			}
			for _, r := range s["required"].([]any) {
				schemaRequired = append(schemaRequired, r.(string))
			}
			var goFields, goRequired []string
			for name, required := range jsonFields(info.GoType) {
				goFields = append(goFields, name)
				if required {
					goRequired = append(goRequired, name)
				}
			}
			if a, b := sortedCopy(schemaProps), sortedCopy(goFields); !slices.Equal(a, b) {
				t.Errorf("schema properties %v, Go fields %v", a, b)
			}
			if a, b := sortedCopy(schemaRequired), sortedCopy(goRequired); !slices.Equal(a, b) {
				t.Errorf("schema requires %v, Go requires %v", a, b)
			}
			if s["type"] != "object" {
				t.Errorf("schema type %v, want object", s["type"])
			}
			if s["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
				t.Errorf("$schema = %v, want draft 2020-12", s["$schema"])
			}
			if s["title"] != info.Type {
				t.Errorf("title = %v, want %s", s["title"], info.Type)
			}
			if ap, ok := s["additionalProperties"]; ok && ap != true {
				t.Errorf("additionalProperties = %v: owners must be free to add fields", ap)
			}
			checkKeywords(t, "", s)
		})
	}
}

// knownKeywords are the keywords the schemas may use; a misspelt keyword would
// otherwise be ignored by every validator.
var knownKeywords = map[string]bool{
	"$schema": true, "title": true, "description": true, "type": true, "required": true,
	"properties": true, "additionalProperties": true, "items": true, "enum": true, "const": true,
	"format": true, "pattern": true, "minLength": true, "maxLength": true, "minItems": true,
	"maxItems": true, "uniqueItems": true, "contentEncoding": true, "minimum": true, "maximum": true,
	"examples": true, "deprecated": true, "$comment": true,
}

func checkKeywords(t *testing.T, path string, s map[string]any) {
	t.Helper()
	for k, v := range s {
		if !knownKeywords[k] {
			t.Errorf("%s: unknown keyword %q", path, k)
		}
		switch k {
		case "properties":
			for name, sub := range v.(map[string]any) {
				checkKeywords(t, path+"/"+name, sub.(map[string]any))
			}
		case "items":
			checkKeywords(t, path+"[]", v.(map[string]any))
		}
	}
}

func schemaDoc(t *testing.T, eventType string) map[string]any {
	t.Helper()
	b, err := contracts.Schema(eventType)
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// jsonFields maps the JSON names of t's fields to whether they are required,
// flattening embedded structs as encoding/json does.
func jsonFields(t reflect.Type) map[string]bool {
	fields := map[string]bool{}
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if f.Anonymous && tag == "" {
			for name, required := range jsonFields(f.Type) {
				fields[name] = required
			}
			continue
		}
		name, options, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		opts := strings.Split(options, ",")
		fields[name] = !slices.Contains(opts, "omitempty") && !slices.Contains(opts, "omitzero")
	}
	return fields
}

type payloadCase struct {
	name string
	typ  string
	// change is applied to the data of typ's golden sample; raw replaces it.
	change func(map[string]any)
	raw    string
	// field is the field a *DataError must name ("" for the data as a whole).
	field string
}

func (c payloadCase) data(t testing.TB) []byte {
	if c.change == nil {
		return []byte(c.raw)
	}
	d := goldenData(t, c.typ)
	c.change(d)
	return mustJSON(t, d)
}

func set(field string, value any) func(map[string]any) {
	return func(d map[string]any) { d[field] = value }
}

func del(field string) func(map[string]any) {
	return func(d map[string]any) { delete(d, field) }
}

const (
	registered = contracts.TypeUserRegisteredV1
	updated    = contracts.TypeUserUpdatedV1
	deleted    = contracts.TypeUserDeletedV1
	revoked    = contracts.TypeSessionRevokedV1
	signingKey = contracts.TypeSigningKeyPublishedV1
	report     = contracts.TypeReportFiledV1

	accountOpened = contracts.TypeAccountOpenedV1
	accountClosed = contracts.TypeAccountClosedV1
	cardIssued    = contracts.TypeCardIssuedV1
	cardChanged   = contracts.TypeCardStatusChangedV1
	statement     = contracts.TypeStatementIssuedV1
)

// Beyond what an int64 holds, written exactly: a float64 would round them.
var (
	maxInt64      = json.Number("9223372036854775807")
	minInt64      = json.Number("-9223372036854775808")
	aboveMaxInt64 = json.Number("9223372036854775808")
	belowMinInt64 = json.Number("-9223372036854775809")
)

// badPayloads breaks the golden data one way at a time. The typed decoder and
// the schema must both refuse every one.
var badPayloads = []payloadCase{
	{name: "array", typ: registered, raw: `[{"user_id":"01a19b53-741b-74c0-9095-71d6b11f635f"}]`, field: ""},
	{name: "string", typ: registered, raw: `"01a19b53-741b-74c0-9095-71d6b11f635f"`, field: ""},
	{name: "null", typ: registered, raw: `null`, field: ""},
	{name: "number", typ: report, raw: `42`, field: ""},

	{name: "missing user_id", typ: registered, change: del("user_id"), field: "user_id"},
	{name: "user_id in other case", typ: registered, change: func(d map[string]any) { d["USER_ID"] = d["user_id"]; delete(d, "user_id") }, field: "user_id"},
	{name: "user_id not a UUID", typ: registered, change: set("user_id", "user-42"), field: "user_id"},
	{name: "user_id in upper case", typ: registered, change: set("user_id", "01A19B53-741B-74C0-9095-71D6B11F635F"), field: "user_id"},
	{name: "user_id without dashes", typ: registered, change: set("user_id", "01a19b53741b74c0909571d6b11f635f"), field: "user_id"},
	{name: "user_id a number", typ: registered, change: set("user_id", 42), field: "user_id"},
	{name: "user_id null", typ: registered, change: set("user_id", nil), field: "user_id"},
	{name: "missing display_name", typ: registered, change: del("display_name"), field: "display_name"},
	{name: "empty display_name", typ: registered, change: set("display_name", ""), field: "display_name"},
	{name: "display_name an object", typ: registered, change: set("display_name", map[string]any{"first": "Ada"}), field: "display_name"},
	{name: "missing role", typ: registered, change: del("role"), field: "role"},
	{name: "unknown role", typ: registered, change: set("role", "moderator"), field: "role"},
	{name: "role in other case", typ: registered, change: set("role", "Admin"), field: "role"},
	{name: "empty role", typ: registered, change: set("role", ""), field: "role"},
	{name: "role an array", typ: registered, change: set("role", []any{"user"}), field: "role"},
	{name: "missing status", typ: registered, change: del("status"), field: "status"},
	{name: "unknown status", typ: registered, change: set("status", "suspended"), field: "status"},
	{name: "status true", typ: registered, change: set("status", true), field: "status"},
	{name: "missing tokens_valid_after", typ: registered, change: del("tokens_valid_after"), field: "tokens_valid_after"},
	{name: "tokens_valid_after in words", typ: registered, change: set("tokens_valid_after", "yesterday"), field: "tokens_valid_after"},
	{name: "tokens_valid_after without zone", typ: registered, change: set("tokens_valid_after", "2026-11-02T08:15:00"), field: "tokens_valid_after"},
	{name: "tokens_valid_after with a space", typ: registered, change: set("tokens_valid_after", "2026-11-02 08:15:00Z"), field: "tokens_valid_after"},
	{name: "tokens_valid_after in month 13", typ: registered, change: set("tokens_valid_after", "2026-13-02T08:15:00Z"), field: "tokens_valid_after"},
	{name: "tokens_valid_after with one-digit hour", typ: registered, change: set("tokens_valid_after", "2026-11-02T8:15:00Z"), field: "tokens_valid_after"},
	{name: "tokens_valid_after a Unix time", typ: registered, change: set("tokens_valid_after", 1793607300), field: "tokens_valid_after"},

	{name: "missing changes", typ: updated, change: del("changes"), field: "changes"},
	{name: "no changes", typ: updated, change: set("changes", []any{}), field: "changes"},
	{name: "unknown change", typ: updated, change: set("changes", []any{"role", "email"}), field: "changes[1]"},
	{name: "repeated change", typ: updated, change: set("changes", []any{"role", "status", "role"}), field: "changes[2]"},
	{name: "null change", typ: updated, change: set("changes", []any{nil}), field: "changes[0]"},
	{name: "changes a string", typ: updated, change: set("changes", "role"), field: "changes"},
	{name: "changes of numbers", typ: updated, change: set("changes", []any{1}), field: "changes"},
	{name: "updated without user_id", typ: updated, change: del("user_id"), field: "user_id"},
	{name: "updated with unknown status", typ: updated, change: set("status", "gone"), field: "status"},

	{name: "deleted without user_id", typ: deleted, change: del("user_id"), field: "user_id"},
	{name: "deleted without deleted_at", typ: deleted, change: del("deleted_at"), field: "deleted_at"},
	{name: "deleted_at a date only", typ: deleted, change: set("deleted_at", "2026-11-22"), field: "deleted_at"},

	{name: "missing session_id", typ: revoked, change: del("session_id"), field: "session_id"},
	{name: "session_id not a UUID", typ: revoked, change: set("session_id", "s3ss10n"), field: "session_id"},
	{name: "revoked without user_id", typ: revoked, change: del("user_id"), field: "user_id"},
	{name: "missing revoked_at", typ: revoked, change: del("revoked_at"), field: "revoked_at"},
	{name: "revoked_at with 24-hour offset", typ: revoked, change: set("revoked_at", "2026-11-20T14:03:07+24:00"), field: "revoked_at"},

	{name: "missing kid", typ: signingKey, change: del("kid"), field: "kid"},
	{name: "empty kid", typ: signingKey, change: set("kid", ""), field: "kid"},
	{name: "kid with a space", typ: signingKey, change: set("kid", "key 1"), field: "kid"},
	{name: "kid too long", typ: signingKey, change: set("kid", strings.Repeat("k", 129)), field: "kid"},
	{name: "missing algorithm", typ: signingKey, change: del("algorithm"), field: "algorithm"},
	{name: "other algorithm", typ: signingKey, change: set("algorithm", "RS256"), field: "algorithm"},
	{name: "algorithm in lower case", typ: signingKey, change: set("algorithm", "eddsa"), field: "algorithm"},
	{name: "missing public_key", typ: signingKey, change: del("public_key"), field: "public_key"},
	{name: "public_key with padding", typ: signingKey, change: set("public_key", "WW9579fD7cq5sPmdQx-COX2kemX5tHJG5sE5ingh2Ic="), field: "public_key"},
	{name: "public_key in standard base64", typ: signingKey, change: set("public_key", "WW9579fD7cq5sPmdQx+COX2kemX5tHJG5sE5ingh2Ic"), field: "public_key"},
	{name: "public_key of 31 bytes", typ: signingKey, change: set("public_key", "WW9579fD7cq5sPmdQx-COX2kemX5tHJG5sE5ingh2A"), field: "public_key"},
	{name: "public_key of 33 bytes", typ: signingKey, change: set("public_key", "WW9579fD7cq5sPmdQx-COX2kemX5tHJG5sE5ingh2IcAA"), field: "public_key"},
	{name: "public_key with stray bits", typ: signingKey, change: set("public_key", "WW9579fD7cq5sPmdQx-COX2kemX5tHJG5sE5ingh2Id"), field: "public_key"},
	{name: "public_key with a newline", typ: signingKey, change: set("public_key", "WW9579fD7cq5sPmdQx-COX2kemX5tHJG5sE5ing\nh2Ic"), field: "public_key"},
	{name: "missing not_before", typ: signingKey, change: del("not_before"), field: "not_before"},
	{name: "not_after a number", typ: signingKey, change: set("not_after", 1801440000), field: "not_after"},

	{name: "missing report_id", typ: report, change: del("report_id"), field: "report_id"},
	{name: "report_id in upper case", typ: report, change: set("report_id", "01A1FFF2-7D5E-75C0-B4BB-5B493051CD3A"), field: "report_id"},
	{name: "missing reporter_id", typ: report, change: del("reporter_id"), field: "reporter_id"},
	{name: "missing reported_user_id", typ: report, change: del("reported_user_id"), field: "reported_user_id"},
	{name: "reported_user_id a number", typ: report, change: set("reported_user_id", 7), field: "reported_user_id"},
	{name: "missing conversation_id", typ: report, change: del("conversation_id"), field: "conversation_id"},
	{name: "missing reason", typ: report, change: del("reason"), field: "reason"},
	{name: "empty reason", typ: report, change: set("reason", ""), field: "reason"},
	{name: "reason of 501 characters", typ: report, change: set("reason", strings.Repeat("x", 501)), field: "reason"},
	{name: "reason of 501 emoji", typ: report, change: set("reason", strings.Repeat("😡", 501)), field: "reason"},
	{name: "missing reported_at", typ: report, change: del("reported_at"), field: "reported_at"},

	{name: "missing account_id", typ: accountOpened, change: del("account_id"), field: "account_id"},
	{name: "account_id in upper case", typ: accountOpened, change: set("account_id", "01A1A0ED-4004-7874-8DFF-F42822335332"), field: "account_id"},
	{name: "opened without user_id", typ: accountOpened, change: del("user_id"), field: "user_id"},
	{name: "opened with user_id not a UUID", typ: accountOpened, change: set("user_id", "ada"), field: "user_id"},
	{name: "missing name", typ: accountOpened, change: del("name"), field: "name"},
	{name: "empty name", typ: accountOpened, change: set("name", ""), field: "name"},
	{name: "name of 81 characters", typ: accountOpened, change: set("name", strings.Repeat("n", 81)), field: "name"},
	{name: "name of 81 emoji", typ: accountOpened, change: set("name", strings.Repeat("💳", 81)), field: "name"},
	{name: "name a number", typ: accountOpened, change: set("name", 7), field: "name"},
	{name: "missing currency", typ: accountOpened, change: del("currency"), field: "currency"},
	{name: "empty currency", typ: accountOpened, change: set("currency", ""), field: "currency"},
	{name: "currency in lower case", typ: accountOpened, change: set("currency", "eur"), field: "currency"},
	{name: "currency of 2 letters", typ: accountOpened, change: set("currency", "EU"), field: "currency"},
	{name: "currency of 4 letters", typ: accountOpened, change: set("currency", "EURO"), field: "currency"},
	{name: "currency a symbol", typ: accountOpened, change: set("currency", "€"), field: "currency"},
	{name: "currency as its ISO number", typ: accountOpened, change: set("currency", 978), field: "currency"},
	{name: "currency with a newline", typ: accountOpened, change: set("currency", "EUR\n"), field: "currency"},
	{name: "missing credit_limit_minor", typ: accountOpened, change: del("credit_limit_minor"), field: "credit_limit_minor"},
	{name: "negative credit_limit_minor", typ: accountOpened, change: set("credit_limit_minor", -1), field: "credit_limit_minor"},
	{name: "credit_limit_minor with a fraction", typ: accountOpened, change: set("credit_limit_minor", 2500.5), field: "credit_limit_minor"},
	{name: "credit_limit_minor a string", typ: accountOpened, change: set("credit_limit_minor", "250000"), field: "credit_limit_minor"},
	{name: "credit_limit_minor null", typ: accountOpened, change: set("credit_limit_minor", nil), field: "credit_limit_minor"},
	{name: "credit_limit_minor beyond int64", typ: accountOpened, change: set("credit_limit_minor", aboveMaxInt64), field: "credit_limit_minor"},
	{name: "missing opened_at", typ: accountOpened, change: del("opened_at"), field: "opened_at"},
	{name: "opened_at a date only", typ: accountOpened, change: set("opened_at", "2026-11-03"), field: "opened_at"},

	{name: "closed without account_id", typ: accountClosed, change: del("account_id"), field: "account_id"},
	{name: "closed without user_id", typ: accountClosed, change: del("user_id"), field: "user_id"},
	{name: "closed without reason", typ: accountClosed, change: del("reason"), field: "reason"},
	{name: "empty closing reason", typ: accountClosed, change: set("reason", ""), field: "reason"},
	{name: "unknown closing reason", typ: accountClosed, change: set("reason", "fraud"), field: "reason"},
	{name: "closing reason in other case", typ: accountClosed, change: set("reason", "User_Deleted"), field: "reason"},
	{name: "missing closed_at", typ: accountClosed, change: del("closed_at"), field: "closed_at"},
	{name: "closed_at in words", typ: accountClosed, change: set("closed_at", "today"), field: "closed_at"},

	{name: "missing card_id", typ: cardIssued, change: del("card_id"), field: "card_id"},
	{name: "card_id a card number", typ: cardIssued, change: set("card_id", "4111111111111111"), field: "card_id"},
	{name: "issued without account_id", typ: cardIssued, change: del("account_id"), field: "account_id"},
	{name: "issued without user_id", typ: cardIssued, change: del("user_id"), field: "user_id"},
	{name: "missing kind", typ: cardIssued, change: del("kind"), field: "kind"},
	{name: "unknown kind", typ: cardIssued, change: set("kind", "metal"), field: "kind"},
	{name: "missing brand", typ: cardIssued, change: del("brand"), field: "brand"},
	{name: "unknown brand", typ: cardIssued, change: set("brand", "amex"), field: "brand"},
	{name: "brand in upper case", typ: cardIssued, change: set("brand", "VISA"), field: "brand"},
	{name: "missing last4", typ: cardIssued, change: del("last4"), field: "last4"},
	{name: "last4 of 3 digits", typ: cardIssued, change: set("last4", "821"), field: "last4"},
	{name: "last4 of 5 digits", typ: cardIssued, change: set("last4", "44821"), field: "last4"},
	{name: "last4 the whole number", typ: cardIssued, change: set("last4", "4111111111114821"), field: "last4"},
	{name: "last4 with a letter", typ: cardIssued, change: set("last4", "48a1"), field: "last4"},
	{name: "last4 a number", typ: cardIssued, change: set("last4", 4821), field: "last4"},
	{name: "missing expires", typ: cardIssued, change: del("expires"), field: "expires"},
	{name: "expires in month 13", typ: cardIssued, change: set("expires", "2029-13"), field: "expires"},
	{name: "expires in month 00", typ: cardIssued, change: set("expires", "2029-00"), field: "expires"},
	{name: "expires with a day", typ: cardIssued, change: set("expires", "2029-11-30"), field: "expires"},
	{name: "expires as printed on the card", typ: cardIssued, change: set("expires", "11/29"), field: "expires"},
	{name: "expires with a one-digit month", typ: cardIssued, change: set("expires", "2029-1"), field: "expires"},
	{name: "missing issued_at", typ: cardIssued, change: del("issued_at"), field: "issued_at"},

	{name: "changed without card_id", typ: cardChanged, change: del("card_id"), field: "card_id"},
	{name: "changed without account_id", typ: cardChanged, change: del("account_id"), field: "account_id"},
	{name: "changed without user_id", typ: cardChanged, change: del("user_id"), field: "user_id"},
	{name: "missing status", typ: cardChanged, change: del("status"), field: "status"},
	{name: "unknown card status", typ: cardChanged, change: set("status", "blocked"), field: "status"},
	{name: "card status in other case", typ: cardChanged, change: set("status", "Frozen"), field: "status"},
	{name: "missing previous_status", typ: cardChanged, change: del("previous_status"), field: "previous_status"},
	{name: "unknown previous_status", typ: cardChanged, change: set("previous_status", "lost"), field: "previous_status"},
	{name: "missing actor", typ: cardChanged, change: del("actor"), field: "actor"},
	{name: "unknown actor", typ: cardChanged, change: set("actor", "bank"), field: "actor"},
	{name: "actor_id not a UUID", typ: cardChanged, change: set("actor_id", "admin"), field: "actor_id"},
	{name: "actor_id empty rather than left out", typ: cardChanged, change: func(d map[string]any) {
		d["actor"], d["actor_id"] = "system", ""
	}, field: "actor_id"},
	{name: "actor_id null", typ: cardChanged, change: func(d map[string]any) { d["actor"], d["actor_id"] = "system", nil }, field: "actor_id"},
	{name: "missing status change reason", typ: cardChanged, change: del("reason"), field: "reason"},
	{name: "status change reason of 201 characters", typ: cardChanged, change: set("reason", strings.Repeat("x", 201)), field: "reason"},
	{name: "status change reason of 201 emoji", typ: cardChanged, change: set("reason", strings.Repeat("🧊", 201)), field: "reason"},
	{name: "status change reason null", typ: cardChanged, change: set("reason", nil), field: "reason"},
	{name: "missing changed_at", typ: cardChanged, change: del("changed_at"), field: "changed_at"},

	{name: "missing statement_id", typ: statement, change: del("statement_id"), field: "statement_id"},
	{name: "statement without account_id", typ: statement, change: del("account_id"), field: "account_id"},
	{name: "statement without user_id", typ: statement, change: del("user_id"), field: "user_id"},
	{name: "statement without currency", typ: statement, change: del("currency"), field: "currency"},
	{name: "statement currency in lower case", typ: statement, change: set("currency", "eur"), field: "currency"},
	{name: "missing period_start", typ: statement, change: del("period_start"), field: "period_start"},
	{name: "period_start a date only", typ: statement, change: set("period_start", "2026-10-01"), field: "period_start"},
	{name: "missing period_end", typ: statement, change: del("period_end"), field: "period_end"},
	{name: "missing opening_balance_minor", typ: statement, change: del("opening_balance_minor"), field: "opening_balance_minor"},
	{name: "opening_balance_minor in major units", typ: statement, change: set("opening_balance_minor", -15.0001), field: "opening_balance_minor"},
	{name: "opening_balance_minor below int64", typ: statement, change: set("opening_balance_minor", belowMinInt64), field: "opening_balance_minor"},
	{name: "missing purchases_minor", typ: statement, change: del("purchases_minor"), field: "purchases_minor"},
	{name: "negative purchases_minor", typ: statement, change: set("purchases_minor", -48350), field: "purchases_minor"},
	{name: "purchases_minor a string", typ: statement, change: set("purchases_minor", "48350"), field: "purchases_minor"},
	{name: "missing payments_minor", typ: statement, change: del("payments_minor"), field: "payments_minor"},
	{name: "negative payments_minor", typ: statement, change: set("payments_minor", -12000), field: "payments_minor"},
	{name: "payments_minor with a fraction", typ: statement, change: set("payments_minor", 120.5), field: "payments_minor"},
	{name: "missing closing_balance_minor", typ: statement, change: del("closing_balance_minor"), field: "closing_balance_minor"},
	{name: "closing_balance_minor beyond int64", typ: statement, change: set("closing_balance_minor", aboveMaxInt64), field: "closing_balance_minor"},
	{name: "missing amount_due_minor", typ: statement, change: del("amount_due_minor"), field: "amount_due_minor"},
	{name: "negative amount_due_minor", typ: statement, change: set("amount_due_minor", -1), field: "amount_due_minor"},
	{name: "amount_due_minor true", typ: statement, change: set("amount_due_minor", true), field: "amount_due_minor"},
	{name: "missing due_date", typ: statement, change: del("due_date"), field: "due_date"},
	{name: "empty due_date", typ: statement, change: set("due_date", ""), field: "due_date"},
	{name: "due_date on February 30", typ: statement, change: set("due_date", "2026-02-30"), field: "due_date"},
	{name: "due_date on February 29 of a common year", typ: statement, change: set("due_date", "2027-02-29"), field: "due_date"},
	{name: "due_date in month 13", typ: statement, change: set("due_date", "2026-13-01"), field: "due_date"},
	{name: "due_date on day 00", typ: statement, change: set("due_date", "2026-11-00"), field: "due_date"},
	{name: "due_date with a one-digit day", typ: statement, change: set("due_date", "2026-11-2"), field: "due_date"},
	{name: "due_date a timestamp", typ: statement, change: set("due_date", "2026-11-22T00:00:00Z"), field: "due_date"},
	{name: "due_date in European order", typ: statement, change: set("due_date", "22.11.2026"), field: "due_date"},
	{name: "due_date a month", typ: statement, change: set("due_date", "2026-11"), field: "due_date"},
	{name: "missing statement issued_at", typ: statement, change: del("issued_at"), field: "issued_at"},
}

// goodPayloads are variations that the decoder and the schema must both accept.
var goodPayloads = []payloadCase{
	{name: "unknown fields", typ: registered, change: func(d map[string]any) {
		d["avatar_url"] = "/users/avatars/1.png"
		d["preferences"] = map[string]any{"theme": "dark", "sizes": []any{1, 2}}
		d["nickname"] = nil
	}},
	{name: "unknown field that differs from a known one only in case", typ: registered, change: set("Role", 42)},
	{name: "banned admin", typ: registered, change: func(d map[string]any) { d["role"] = "admin"; d["status"] = "banned" }},
	{name: "time with an offset", typ: registered, change: set("tokens_valid_after", "2026-11-02T09:15:00+01:00")},
	{name: "time with nanoseconds", typ: registered, change: set("tokens_valid_after", "2026-11-02T08:15:00.123456789Z")},
	{name: "every change", typ: updated, change: set("changes", []any{"display_name", "role", "status", "tokens_valid_after"})},
	{name: "a single change", typ: updated, change: set("changes", []any{"status"})},
	{name: "kid of 128 characters", typ: signingKey, change: func(d map[string]any) { d["kid"] = strings.Repeat("k", 128) }},
	{name: "reason of 500 emoji", typ: report, change: set("reason", strings.Repeat("😡", 500))},
	{name: "reason of 1 character", typ: report, change: set("reason", "!")},
	{name: "reason with markup", typ: report, change: set("reason", `<script>alert("x")</script>`)},

	{name: "name of 80 emoji", typ: accountOpened, change: set("name", strings.Repeat("💳", 80))},
	{name: "name with markup", typ: accountOpened, change: set("name", `<b>Holidays</b> & "fun"`)},
	{name: "no credit", typ: accountOpened, change: set("credit_limit_minor", 0)},
	{name: "credit_limit_minor of the largest int64", typ: accountOpened, change: set("credit_limit_minor", maxInt64)},
	{name: "currency without minor units", typ: accountOpened, change: func(d map[string]any) { d["currency"], d["credit_limit_minor"] = "JPY", 300000 }},
	{name: "closed by the holder", typ: accountClosed, change: set("reason", "closed_by_holder")},
	{name: "closed by an admin", typ: accountClosed, change: set("reason", "closed_by_admin")},
	{name: "virtual mastercard", typ: cardIssued, change: func(d map[string]any) { d["kind"], d["brand"] = "virtual", "mastercard" }},
	{name: "last4 of zeros", typ: cardIssued, change: set("last4", "0000")},
	{name: "expires in January", typ: cardIssued, change: set("expires", "2030-01")},
	{name: "cancelled by the system", typ: cardChanged, change: func(d map[string]any) {
		d["status"], d["previous_status"], d["actor"], d["reason"] = "cancelled", "frozen", "system", "user deleted"
		delete(d, "actor_id")
	}},
	{name: "frozen by an admin", typ: cardChanged, change: func(d map[string]any) {
		d["actor"], d["actor_id"] = "admin", "019e0dd3-730c-7566-b74e-308b1debf4b5"
	}},
	{name: "unfrozen without a reason", typ: cardChanged, change: func(d map[string]any) {
		d["status"], d["previous_status"], d["reason"] = "active", "frozen", ""
	}},
	{name: "status change reason of 200 emoji", typ: cardChanged, change: set("reason", strings.Repeat("🧊", 200))},
	{name: "credit balance", typ: statement, change: func(d map[string]any) {
		d["opening_balance_minor"], d["purchases_minor"], d["payments_minor"] = -50000, 1000, 0
		d["closing_balance_minor"], d["amount_due_minor"] = -49000, 0
	}},
	{name: "quiet period", typ: statement, change: func(d map[string]any) {
		d["opening_balance_minor"], d["purchases_minor"], d["payments_minor"] = 0, 0, 0
		d["closing_balance_minor"], d["amount_due_minor"] = 0, 0
	}},
	{name: "balances at the edges of int64", typ: statement, change: func(d map[string]any) {
		d["opening_balance_minor"], d["purchases_minor"], d["payments_minor"] = maxInt64, 1, 1
		d["closing_balance_minor"] = maxInt64
	}},
	{name: "largest payment on the smallest balance", typ: statement, change: func(d map[string]any) {
		d["opening_balance_minor"], d["purchases_minor"], d["payments_minor"] = json.Number("-1"), 0, maxInt64
		d["closing_balance_minor"], d["amount_due_minor"] = minInt64, 0
	}},
	{name: "due on a leap day", typ: statement, change: set("due_date", "2028-02-29")},
	{name: "period in local time", typ: statement, change: func(d map[string]any) {
		d["period_start"], d["period_end"] = "2026-10-01T00:00:00+02:00", "2026-11-01T00:00:00+01:00"
	}},
}

func TestBadPayloads(t *testing.T) {
	schemas := compileSchemas(t)
	for _, c := range badPayloads {
		t.Run(c.typ+"/"+c.name, func(t *testing.T) {
			data := c.data(t)
			if err := validateSchema(schemas[c.typ], data); err == nil {
				t.Errorf("schema accepted %s", data)
			} else if !schemaBlames(err, c.field) {
				t.Errorf("schema refused for another reason than field %q: %v", c.field, err)
			}
			p, err := contracts.DecodeData(c.typ, data)
			if err == nil {
				t.Fatalf("decoder accepted %s as %+v", data, p)
			}
			var de *contracts.DataError
			if !errors.As(err, &de) {
				t.Fatalf("error is %T (%v), want *contracts.DataError", err, err)
			}
			if de.Type != c.typ || de.Field != c.field {
				t.Errorf("error names type %q field %q, want %q, %q (%v)", de.Type, de.Field, c.typ, c.field, err)
			}
			if c.field != "" && !strings.Contains(err.Error(), `field "`+c.field+`"`) {
				t.Errorf("message %q does not name field %q", err, c.field)
			}
		})
	}
}

// schemaBlames reports whether the validation error is about field, or about
// the whole data when field is "".
func schemaBlames(err error, field string) bool {
	top, _, _ := strings.Cut(field, "[")
	msg := err.Error()
	if top == "" {
		return strings.Contains(msg, "at '': got")
	}
	return strings.Contains(msg, "at '/"+top) || strings.Contains(msg, "missing property '"+top+"'")
}

func TestGoodPayloads(t *testing.T) {
	schemas := compileSchemas(t)
	for _, c := range goodPayloads {
		t.Run(c.typ+"/"+c.name, func(t *testing.T) {
			data := c.data(t)
			if err := validateSchema(schemas[c.typ], data); err != nil {
				t.Errorf("schema refused %s: %v", data, err)
			}
			if _, err := contracts.DecodeData(c.typ, data); err != nil {
				t.Errorf("decoder refused %s: %v", data, err)
			}
		})
	}
}

// TestRulesBeyondTheSchema lists what the typed checks refuse although the
// schema cannot say so. If the schema learns to, move the case to badPayloads.
func TestRulesBeyondTheSchema(t *testing.T) {
	schemas := compileSchemas(t)
	cases := []payloadCase{
		{name: "key window ends before it starts", typ: signingKey, change: set("not_after", "2026-10-01T00:00:00Z"), field: "not_after"},
		{name: "key window of no length", typ: signingKey, change: set("not_after", "2026-11-01T00:00:00Z"), field: "not_after"},
		{name: "zero time", typ: deleted, change: set("deleted_at", "0001-01-01T00:00:00Z"), field: "deleted_at"},
		{name: "period ends before it starts", typ: statement, change: set("period_end", "2026-09-30T00:00:00Z"), field: "period_end"},
		{name: "period of no length", typ: statement, change: set("period_end", "2026-10-01T00:00:00Z"), field: "period_end"},
		{name: "closing balance off by a cent", typ: statement, change: set("closing_balance_minor", 34851), field: "closing_balance_minor"},
		{name: "closing balance that ignores the opening balance", typ: statement, change: set("closing_balance_minor", 36350), field: "closing_balance_minor"},
		{name: "closing balance wrapped around int64", typ: statement, change: func(d map[string]any) {
			d["opening_balance_minor"], d["purchases_minor"], d["payments_minor"] = maxInt64, 1, 0
			d["closing_balance_minor"] = minInt64
		}, field: "closing_balance_minor"},
		{name: "closing balance beyond int64", typ: statement, change: func(d map[string]any) {
			d["opening_balance_minor"], d["purchases_minor"], d["payments_minor"] = maxInt64, maxInt64, 0
			d["closing_balance_minor"] = json.Number("-2")
		}, field: "closing_balance_minor"},
		{name: "status that did not change", typ: cardChanged, change: set("previous_status", "frozen"), field: "status"},
		{name: "system with an actor_id", typ: cardChanged, change: set("actor", "system"), field: "actor_id"},
		{name: "holder without actor_id", typ: cardChanged, change: del("actor_id"), field: "actor_id"},
		{name: "admin without actor_id", typ: cardChanged, change: func(d map[string]any) { d["actor"] = "admin"; delete(d, "actor_id") }, field: "actor_id"},
		{name: "holder who is somebody else", typ: cardChanged, change: set("actor_id", "019e0dd3-730c-7566-b74e-308b1debf4b5"), field: "actor_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := c.data(t)
			if err := validateSchema(schemas[c.typ], data); err != nil {
				t.Errorf("schema refused %s (%v): move the case to badPayloads", data, err)
			}
			_, err := contracts.DecodeData(c.typ, data)
			var de *contracts.DataError
			if !errors.As(err, &de) || de.Field != c.field {
				t.Errorf("decoder: %v, want a *DataError naming %q", err, c.field)
			}
		})
	}
}

func TestDecodeRefuses(t *testing.T) {
	ev, err := cloudevent.Decode(readGolden(t, registered).raw)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		change func(*cloudevent.Event)
		field  string
	}{
		{"subject of another user", func(e *cloudevent.Event) { e.Subject = "019e0dd3-730c-7566-b74e-308b1debf4b5" }, "user_id"},
		{"event of another type", func(e *cloudevent.Event) { e.Type = contracts.TypeUserUpdatedV1 }, ""},
		{"data with a missing field", func(e *cloudevent.Event) {
			e.Data = json.RawMessage(`{"user_id":"01a19b53-741b-74c0-9095-71d6b11f635f"}`)
		}, "display_name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := ev
			c.change(&ev)
			_, err := contracts.Decode[contracts.UserRegisteredV1](ev)
			var de *contracts.DataError
			if !errors.As(err, &de) || de.Field != c.field {
				t.Errorf("Decode: %v, want a *DataError naming %q", err, c.field)
			}
		})
	}
	t.Run("unregistered type", func(t *testing.T) {
		ev := ev
		ev.Type = "users.user.registered.v2"
		if _, err := contracts.DecodeEvent(ev); !errors.Is(err, contracts.ErrUnknownType) {
			t.Errorf("DecodeEvent: %v, want ErrUnknownType", err)
		}
	})
	t.Run("subject of another user through DecodeEvent", func(t *testing.T) {
		ev := ev
		ev.Subject = "019e0dd3-730c-7566-b74e-308b1debf4b5"
		var de *contracts.DataError
		if _, err := contracts.DecodeEvent(ev); !errors.As(err, &de) || de.Field != "user_id" {
			t.Errorf("DecodeEvent: %v, want a *DataError naming user_id", err)
		}
	})
}

func TestDataErrorMessage(t *testing.T) {
	cases := []struct {
		err  contracts.DataError
		want string
	}{
		{contracts.DataError{Type: registered, Field: "role", Reason: "is missing"}, `users.user.registered.v1 event data: field "role" is missing`},
		{contracts.DataError{Type: registered, Reason: "is not a JSON object"}, `users.user.registered.v1 event data: is not a JSON object`},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			if got := c.err.Error(); got != c.want {
				t.Errorf("Error() = %q, want %q", got, c.want)
			}
		})
	}
}

func validSnapshot() contracts.UserSnapshot {
	return contracts.UserSnapshot{
		UserID:           "01a19b53-741b-74c0-9095-71d6b11f635f",
		DisplayName:      "Ada",
		Role:             contracts.RoleUser,
		Status:           contracts.StatusActive,
		TokensValidAfter: time.Date(2026, 11, 2, 8, 15, 0, 0, time.UTC),
	}
}

func TestValidate(t *testing.T) {
	withSnapshot := func(change func(*contracts.UserSnapshot)) contracts.UserRegisteredV1 {
		s := validSnapshot()
		change(&s)
		return contracts.UserRegisteredV1{UserSnapshot: s}
	}
	key := contracts.SigningKeyPublishedV1{
		KeyID: "k1", Algorithm: contracts.AlgorithmEdDSA, PublicKey: "WW9579fD7cq5sPmdQx-COX2kemX5tHJG5sE5ingh2Ic",
		NotBefore: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC),
	}
	cases := []struct {
		name    string
		payload contracts.Payload
		field   string
	}{
		{"valid registration", contracts.UserRegisteredV1{UserSnapshot: validSnapshot()}, ""},
		{"zero registration", contracts.UserRegisteredV1{}, "user_id"},
		{"no display name", withSnapshot(func(s *contracts.UserSnapshot) { s.DisplayName = "" }), "display_name"},
		{"no role", withSnapshot(func(s *contracts.UserSnapshot) { s.Role = "" }), "role"},
		{"no token time", withSnapshot(func(s *contracts.UserSnapshot) { s.TokensValidAfter = time.Time{} }), "tokens_valid_after"},
		{"token time after year 9999", withSnapshot(func(s *contracts.UserSnapshot) {
			s.TokensValidAfter = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
		}), "tokens_valid_after"},
		{"token time with a 25-hour offset", withSnapshot(func(s *contracts.UserSnapshot) {
			s.TokensValidAfter = time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 25*3600))
		}), "tokens_valid_after"},
		{"update without changes", contracts.UserUpdatedV1{UserSnapshot: validSnapshot()}, "changes"},
		{"valid update", contracts.UserUpdatedV1{UserSnapshot: validSnapshot(), Changes: []contracts.UserChange{contracts.UserChangeRole}}, ""},
		{"valid key", key, ""},
		{"key without id", func() contracts.Payload { k := key; k.KeyID = ""; return k }(), "kid"},
		{"key of another algorithm", func() contracts.Payload { k := key; k.Algorithm = "ES256"; return k }(), "algorithm"},
		{"zero deletion", contracts.UserDeletedV1{}, "user_id"},
		{"zero revocation", contracts.SessionRevokedV1{}, "session_id"},
		{"zero report", contracts.ReportFiledV1{}, "report_id"},
		{"zero account opening", contracts.AccountOpenedV1{}, "account_id"},
		{"zero account closing", contracts.AccountClosedV1{}, "account_id"},
		{"zero card", contracts.CardIssuedV1{}, "card_id"},
		{"zero card status change", contracts.CardStatusChangedV1{}, "card_id"},
		{"zero statement", contracts.StatementIssuedV1{}, "statement_id"},
		{"valid statement", validStatement(func(*contracts.StatementIssuedV1) {}), ""},
		{"statement with a negative purchase total", validStatement(func(s *contracts.StatementIssuedV1) {
			s.PurchasesMinor, s.ClosingBalanceMinor = -100, -12100
		}), "purchases_minor"},
		{"statement whose sum stays within int64", validStatement(func(s *contracts.StatementIssuedV1) {
			s.OpeningBalanceMinor, s.PurchasesMinor, s.PaymentsMinor, s.ClosingBalanceMinor = math.MaxInt64, math.MaxInt64, math.MaxInt64, math.MaxInt64
		}), ""},
		{"statement whose sum stays within int64 downwards", validStatement(func(s *contracts.StatementIssuedV1) {
			s.OpeningBalanceMinor, s.PurchasesMinor, s.PaymentsMinor, s.ClosingBalanceMinor = math.MinInt64+1, 0, 1, math.MinInt64
		}), ""},
		{"statement whose sum overflows", validStatement(func(s *contracts.StatementIssuedV1) {
			s.OpeningBalanceMinor, s.PurchasesMinor, s.PaymentsMinor, s.ClosingBalanceMinor = math.MaxInt64, 1, 0, math.MinInt64
		}), "closing_balance_minor"},
		{"statement whose sum underflows", validStatement(func(s *contracts.StatementIssuedV1) {
			s.OpeningBalanceMinor, s.PurchasesMinor, s.PaymentsMinor, s.ClosingBalanceMinor = math.MinInt64, 0, 1, math.MaxInt64
		}), "closing_balance_minor"},
		{"statement due on a day that does not exist", validStatement(func(s *contracts.StatementIssuedV1) { s.DueDate = "2026-04-31" }), "due_date"},
		{"statement in a lower-case currency", validStatement(func(s *contracts.StatementIssuedV1) { s.Currency = "usd" }), "currency"},
		{"statement without its end", validStatement(func(s *contracts.StatementIssuedV1) { s.PeriodEnd = time.Time{} }), "period_end"},
		{"card status change by the system", contracts.CardStatusChangedV1{
			CardID: "01a1a0ed-4004-7822-b3f0-11eaae4d6fdf", AccountID: "01a1a0ed-4004-7874-8dff-f42822335332",
			UserID: "01a19b53-741b-74c0-9095-71d6b11f635f", Status: contracts.CardCancelled, PreviousStatus: contracts.CardActive,
			Actor: contracts.ActorSystem, ChangedAt: time.Date(2026, 11, 22, 19, 45, 12, 0, time.UTC),
		}, ""},
		{"negative credit limit", contracts.AccountOpenedV1{
			AccountID: "01a1a0ed-4004-7874-8dff-f42822335332", UserID: "01a19b53-741b-74c0-9095-71d6b11f635f", Name: "Everyday",
			Currency: "EUR", CreditLimitMinor: -1, OpenedAt: time.Date(2026, 11, 3, 10, 21, 5, 0, time.UTC),
		}, "credit_limit_minor"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.payload.Validate()
			if c.field == "" {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			var de *contracts.DataError
			if !errors.As(err, &de) || de.Field != c.field || de.Type != c.payload.EventType() {
				t.Errorf("Validate: %v, want a *DataError of %s naming %q", err, c.payload.EventType(), c.field)
			}
		})
	}
}

func validStatement(change func(*contracts.StatementIssuedV1)) contracts.StatementIssuedV1 {
	s := contracts.StatementIssuedV1{
		StatementID: "01a194d5-c533-79e8-b1b5-131329be5d21", AccountID: "019e0dde-420a-7298-a4c2-771116e58928",
		UserID: "019e0dd3-730c-7566-b74e-308b1debf4b5", Currency: "EUR",
		PeriodStart: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), PeriodEnd: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		OpeningBalanceMinor: 0, PurchasesMinor: 15000, PaymentsMinor: 3000, ClosingBalanceMinor: 12000, AmountDueMinor: 12000,
		DueDate: "2026-11-22", IssuedAt: time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC),
	}
	change(&s)
	return s
}

// TestNoCardNumber guards the promise of CardIssuedV1: no event type has a
// field that would carry a card number or its security code.
func TestNoCardNumber(t *testing.T) {
	forbidden := []string{"pan", "number", "card_number", "cardnumber", "cvv", "cvc", "security_code"}
	for _, info := range contracts.Types() {
		for name := range jsonFields(info.GoType) {
			if slices.Contains(forbidden, strings.ToLower(name)) {
				t.Errorf("%s has a field %q: the card number never leaves scs-cards", info.Type, name)
			}
		}
	}
}

func TestNewEvent(t *testing.T) {
	p := contracts.UserUpdatedV1{
		UserSnapshot: validSnapshot(),
		Changes:      []contracts.UserChange{contracts.UserChangeStatus, contracts.UserChangeTokensValidAfter},
	}
	ev, err := contracts.NewEvent(p, 4)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Source != contracts.SourceUsers || ev.Type != contracts.TypeUserUpdatedV1 || ev.Subject != p.UserID || ev.AggregateVersion != 4 {
		t.Errorf("NewEvent = %+v", ev)
	}
	ev.Sequence = 1
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	wire, err := cloudevent.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := contracts.Decode[contracts.UserUpdatedV1](wire)
	if err != nil {
		t.Fatal(err)
	}
	if !got.TokensValidAfter.Equal(p.TokensValidAfter) || !slices.Equal(got.Changes, p.Changes) || got.UserID != p.UserID {
		t.Errorf("round trip = %+v, want %+v", got, p)
	}
	if !got.Has(contracts.UserChangeStatus) || got.Has(contracts.UserChangeRole) {
		t.Errorf("Has disagrees with Changes %v", got.Changes)
	}

	t.Run("invalid payload", func(t *testing.T) {
		var de *contracts.DataError
		if _, err := contracts.NewEvent(contracts.UserUpdatedV1{UserSnapshot: validSnapshot()}, 4); !errors.As(err, &de) || de.Field != "changes" {
			t.Errorf("NewEvent: %v, want a *DataError naming changes", err)
		}
	})
	t.Run("unregistered payload", func(t *testing.T) {
		if _, err := contracts.NewEvent(unregistered{}, 1); !errors.Is(err, contracts.ErrUnknownType) {
			t.Errorf("NewEvent: %v, want ErrUnknownType", err)
		}
	})
}

type unregistered struct{}

func (unregistered) EventType() string { return "cards.card.frozen.v1" }
func (unregistered) Subject() string   { return "c1" }
func (unregistered) Validate() error   { return nil }

func TestSigningKey(t *testing.T) {
	var data contracts.SigningKeyPublishedV1
	if err := json.Unmarshal(readGolden(t, signingKey).wire["data"], &data); err != nil {
		t.Fatal(err)
	}
	key, err := data.Key()
	if err != nil {
		t.Fatalf("Key: %v", err)
	}
	if len(key) != 32 {
		t.Errorf("key of %d bytes", len(key))
	}
	data.PublicKey = "WW9579fD7cq5sPmdQx-COX2kemX5tHJG5sE5ingh2Id"
	if _, err := data.Key(); err == nil {
		t.Error("Key accepted a key with stray bits")
	}
}
