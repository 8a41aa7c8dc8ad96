package contracts_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/scs-platform/shared-events/contracts"
)

// TestPublishedSchemasCompatible fails on a breaking change to a published type.
// testdata/published holds each schema as it was when the type was published;
// a copy is frozen once and never edited. A change that this test refuses is a
// new major version: a new type, schema, golden sample and published copy.
func TestPublishedSchemasCompatible(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "published", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	published := map[string]bool{}
	for _, path := range paths {
		eventType := strings.TrimSuffix(filepath.Base(path), ".json")
		published[eventType] = true
		t.Run(eventType, func(t *testing.T) {
			old, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			current, err := contracts.Schema(eventType)
			if err != nil {
				t.Fatalf("%s was published but is no longer registered (%v): "+
					"delete its published copy only once no consumer needs it", eventType, err)
			}
			problems, err := breakingChanges(old, current)
			if err != nil {
				t.Fatal(err)
			}
			problems = slices.DeleteFunc(problems, func(p string) bool { return narrowedSafely[eventType+" "+p] != "" })
			for _, p := range problems {
				t.Errorf("breaking change to published %s: %s", eventType, p)
			}
			if len(problems) > 0 {
				t.Log("within a major version, only add optional properties; publish anything else as the next major version")
			}
		})
	}
	for _, info := range contracts.Types() {
		if !published[info.Type] {
			t.Errorf("%s has no frozen copy: copy schemas/%[1]s.json to testdata/published/ when it is published", info.Type)
		}
	}
}

// narrowedSafely lists the narrowings of published schemas that break no one,
// each with the reason. A narrower set of values breaks only the event history,
// and only if some published event lies outside it; so a limit that the owner's
// code enforced on every event it ever published may be written into the
// schema, where consumers enforce it too (a consumer on the older schema
// accepts everything the narrower one does). Nothing else belongs here.
var narrowedSafely = map[string]string{
	"users.user.registered.v1 data.display_name: maxLength 50 was added": "scs-users has refused display names of more than 50 characters since its first release (accounts.MaxDisplayNameLength)",
	"users.user.updated.v1 data.display_name: maxLength 50 was added":    "as for users.user.registered.v1",
}

// annotations are the keywords that describe without constraining: changing
// them breaks nobody.
var annotations = map[string]bool{
	"$schema": true, "$id": true, "$comment": true, "title": true, "description": true,
	"examples": true, "default": true, "deprecated": true, "readOnly": true, "writeOnly": true,
}

// breakingChanges lists how the current schema breaks consumers or the event
// history that rely on the published one, in words naming the property.
//
// Adding an optional property is the only change to the properties that is safe.
// Every other change to a property's constraints breaks someone: a narrower set
// of values (enum, format, length, type) makes events already published invalid,
// and a wider one makes consumers still on the old contract refuse new events.
// So does a property that is removed or renamed, newly required (events already
// published lack it) or no longer required (consumers rely on it), and
// additionalProperties being restricted (owners could no longer add fields).
func breakingChanges(published, current []byte) ([]string, error) {
	var old, cur map[string]any
	if err := json.Unmarshal(published, &old); err != nil {
		return nil, fmt.Errorf("published schema: %w", err)
	}
	if err := json.Unmarshal(current, &cur); err != nil {
		return nil, fmt.Errorf("current schema: %w", err)
	}
	var problems []string
	compareSchemas("data", old, cur, &problems)
	sort.Strings(problems)
	return problems, nil
}

func compareSchemas(path string, old, cur map[string]any, problems *[]string) {
	report := func(format string, args ...any) {
		*problems = append(*problems, path+": "+fmt.Sprintf(format, args...))
	}

	oldProps, _ := old["properties"].(map[string]any)
	curProps, _ := cur["properties"].(map[string]any)
	for _, name := range sortedKeys(oldProps) {
		c, ok := curProps[name]
		if !ok {
			report("property %q was removed (or renamed)", name)
			continue
		}
		o, _ := oldProps[name].(map[string]any)
		cm, _ := c.(map[string]any)
		compareSchemas(path+"."+name, o, cm, problems)
	}

	oldRequired, curRequired := stringSet(old["required"]), stringSet(cur["required"])
	for _, name := range sortedKeys(curRequired) {
		if !oldRequired[name] {
			report("property %q is newly required", name)
		}
	}
	for _, name := range sortedKeys(oldRequired) {
		if !curRequired[name] {
			report("property %q is no longer required", name)
		}
	}

	if ap, ok := cur["additionalProperties"]; ok && ap != true && !reflect.DeepEqual(ap, old["additionalProperties"]) {
		report("additionalProperties is now %v, so no field can be added", ap)
	}

	oldItems, oldHasItems := old["items"].(map[string]any)
	curItems, curHasItems := cur["items"].(map[string]any)
	switch {
	case oldHasItems && curHasItems:
		compareSchemas(path+"[]", oldItems, curItems, problems)
	case oldHasItems || curHasItems:
		report("items changed from %v to %v", old["items"], cur["items"])
	}

	structural := map[string]bool{"properties": true, "required": true, "additionalProperties": true, "items": true}
	keywords := map[string]any{}
	for k := range old {
		keywords[k] = nil
	}
	for k := range cur {
		keywords[k] = nil
	}
	for _, k := range sortedKeys(keywords) {
		if annotations[k] || structural[k] {
			continue
		}
		o, inOld := old[k]
		c, inCur := cur[k]
		switch {
		case !inCur:
			report("%s %v was removed", k, jsonText(o))
		case !inOld:
			report("%s %v was added", k, jsonText(c))
		case k == "enum" && sameSet(o, c):
		case !reflect.DeepEqual(o, c):
			report("%s changed from %v to %v", k, jsonText(o), jsonText(c))
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func stringSet(v any) map[string]bool {
	set := map[string]bool{}
	list, _ := v.([]any)
	for _, x := range list {
		if s, ok := x.(string); ok {
			set[s] = true
		}
	}
	return set
}

// sameSet reports whether two enums hold the same values in any order.
func sameSet(a, b any) bool {
	as, bs := enumTexts(a), enumTexts(b)
	return as != nil && bs != nil && slices.Equal(as, bs)
}

func enumTexts(v any) []string {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	texts := make([]string, len(list))
	for i, x := range list {
		texts[i] = jsonText(x)
	}
	sort.Strings(texts)
	return slices.Compact(texts)
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func TestBreakingChanges(t *testing.T) {
	const base = `{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"title": "users.user.registered.v1",
		"type": "object",
		"required": ["user_id", "role"],
		"properties": {
			"user_id": {"type": "string", "format": "uuid", "description": "The id."},
			"role": {"type": "string", "enum": ["user", "admin"]},
			"nickname": {"type": "string", "maxLength": 40},
			"changes": {"type": "array", "items": {"type": "string", "enum": ["role", "status"]}},
			"address": {"type": "object", "properties": {"city": {"type": "string"}}}
		}
	}`
	cases := []struct {
		name string
		edit func(s map[string]any)
		// want holds one substring per expected problem; none means compatible.
		want []string
	}{
		{name: "unchanged"},
		{name: "optional property added", edit: func(s map[string]any) {
			prop(s)["avatar_url"] = map[string]any{"type": "string", "format": "uri"}
		}},
		{name: "description changed", edit: func(s map[string]any) {
			prop(s, "user_id")["description"] = "The user's id."
		}},
		{name: "enum reordered", edit: func(s map[string]any) {
			prop(s, "role")["enum"] = []any{"admin", "user"}
		}},
		{name: "additionalProperties true", edit: func(s map[string]any) { s["additionalProperties"] = true }},
		{name: "deprecated", edit: func(s map[string]any) { prop(s, "nickname")["deprecated"] = true }},

		{name: "property removed", edit: func(s map[string]any) { delete(prop(s), "nickname") },
			want: []string{`data: property "nickname" was removed`}},
		{name: "required property renamed", edit: func(s map[string]any) {
			prop(s)["userId"] = prop(s, "user_id")
			delete(prop(s), "user_id")
			s["required"] = []any{"userId", "role"}
		}, want: []string{`property "user_id" was removed`, `"userId" is newly required`, `"user_id" is no longer required`}},
		{name: "retyped", edit: func(s map[string]any) { prop(s, "nickname")["type"] = "integer" },
			want: []string{`data.nickname: type changed from "string" to "integer"`}},
		{name: "format changed", edit: func(s map[string]any) { prop(s, "user_id")["format"] = "uri" },
			want: []string{`data.user_id: format changed`}},
		{name: "format added", edit: func(s map[string]any) { prop(s, "nickname")["format"] = "email" },
			want: []string{`data.nickname: format "email" was added`}},
		{name: "enum narrowed", edit: func(s map[string]any) { prop(s, "role")["enum"] = []any{"user"} },
			want: []string{`data.role: enum changed`}},
		{name: "enum widened", edit: func(s map[string]any) { prop(s, "role")["enum"] = []any{"user", "admin", "moderator"} },
			want: []string{`data.role: enum changed`}},
		{name: "enum replaced by const", edit: func(s map[string]any) {
			delete(prop(s, "role"), "enum")
			prop(s, "role")["const"] = "user"
		}, want: []string{`data.role: const "user" was added`, `data.role: enum ["user","admin"] was removed`}},
		{name: "maxLength lowered", edit: func(s map[string]any) { prop(s, "nickname")["maxLength"] = 20.0 },
			want: []string{`data.nickname: maxLength changed from 40 to 20`}},
		{name: "maxLength dropped", edit: func(s map[string]any) { delete(prop(s, "nickname"), "maxLength") },
			want: []string{`data.nickname: maxLength 40 was removed`}},
		{name: "optional property newly required", edit: func(s map[string]any) {
			s["required"] = []any{"user_id", "role", "nickname"}
		}, want: []string{`property "nickname" is newly required`}},
		{name: "required property added", edit: func(s map[string]any) {
			prop(s)["email"] = map[string]any{"type": "string"}
			s["required"] = []any{"user_id", "role", "email"}
		}, want: []string{`property "email" is newly required`}},
		{name: "required property made optional", edit: func(s map[string]any) { s["required"] = []any{"user_id"} },
			want: []string{`property "role" is no longer required`}},
		{name: "additionalProperties false", edit: func(s map[string]any) { s["additionalProperties"] = false },
			want: []string{`additionalProperties is now false`}},
		{name: "item enum narrowed", edit: func(s map[string]any) {
			prop(s, "changes")["items"].(map[string]any)["enum"] = []any{"role"}
		}, want: []string{`data.changes[]: enum changed`}},
		{name: "items dropped", edit: func(s map[string]any) { delete(prop(s, "changes"), "items") },
			want: []string{`data.changes: items changed`}},
		{name: "nested property removed", edit: func(s map[string]any) {
			prop(s, "address")["properties"] = map[string]any{}
		}, want: []string{`data.address: property "city" was removed`}},
		{name: "nested additionalProperties false", edit: func(s map[string]any) {
			prop(s, "address")["additionalProperties"] = false
		}, want: []string{`data.address: additionalProperties is now false`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s map[string]any
			if err := json.Unmarshal([]byte(base), &s); err != nil {
				t.Fatal(err)
			}
			if c.edit != nil {
				c.edit(s)
			}
			current, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			problems, err := breakingChanges([]byte(base), current)
			if err != nil {
				t.Fatal(err)
			}
			if len(problems) != len(c.want) {
				t.Fatalf("problems %q, want %d matching %q", problems, len(c.want), c.want)
			}
			for _, w := range c.want {
				if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, w) }) {
					t.Errorf("no problem mentions %q in %q", w, problems)
				}
			}
		})
	}
	t.Run("not JSON", func(t *testing.T) {
		if _, err := breakingChanges([]byte(base), []byte(`{`)); err == nil {
			t.Error("breakingChanges accepted a current schema that is not JSON")
		}
	})
}

// prop returns s's properties or, given a name, the property of that name.
func prop(s map[string]any, name ...string) map[string]any {
	props := s["properties"].(map[string]any)
	if len(name) == 0 {
		return props
	}
	return props[name[0]].(map[string]any)
}
