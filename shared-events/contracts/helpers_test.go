package contracts_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/scs-platform/shared-events/contracts"
)

// compileSchemas compiles the embedded schema of every registered type, with
// formats (uuid, date-time) asserted rather than merely annotated.
func compileSchemas(t testing.TB) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	for _, info := range contracts.Types() {
		b, err := contracts.Schema(info.Type)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("schema of %s: %v", info.Type, err)
		}
		if err := c.AddResource(schemaURL(info.Type), doc); err != nil {
			t.Fatalf("schema of %s: %v", info.Type, err)
		}
	}
	schemas := make(map[string]*jsonschema.Schema)
	for _, info := range contracts.Types() {
		s, err := c.Compile(schemaURL(info.Type))
		if err != nil {
			t.Fatalf("schema of %s does not compile: %v", info.Type, err)
		}
		schemas[info.Type] = s
	}
	return schemas
}

func schemaURL(eventType string) string {
	return "https://schemas.scs-platform.test/" + eventType + ".json"
}

// validateSchema validates JSON data against s.
func validateSchema(s *jsonschema.Schema, data []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return s.Validate(v)
}

// golden is one golden sample: a whole event as it travels.
type golden struct {
	raw  []byte
	wire map[string]json.RawMessage
}

func readGolden(t testing.TB, eventType string) golden {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "golden", eventType+".json"))
	if err != nil {
		t.Fatalf("golden sample of %s: %v", eventType, err)
	}
	var wire map[string]json.RawMessage
	if err := json.Unmarshal(raw, &wire); err != nil {
		t.Fatalf("golden sample of %s: %v", eventType, err)
	}
	return golden{raw: raw, wire: wire}
}

// goldenData returns the data of eventType's golden sample as a map to change.
func goldenData(t testing.TB, eventType string) map[string]any {
	t.Helper()
	var data map[string]any
	if err := json.Unmarshal(readGolden(t, eventType).wire["data"], &data); err != nil {
		t.Fatal(err)
	}
	return data
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jsonEqual reports whether a and b are the same JSON value, whatever their
// whitespace, key order and string escapes.
func jsonEqual(t testing.TB, a, b []byte) bool {
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
