package contracts_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/scs-platform/shared-events/contracts"
)

// FuzzDecodeData checks the payload decoder on arbitrary data of every type: it
// never panics, fails only with a *DataError, accepts nothing the schema
// refuses, and what it accepts encodes and decodes again to the same payload,
// also inside an event.
func FuzzDecodeData(f *testing.F) {
	types := contracts.Types()
	index := func(eventType string) uint8 {
		return uint8(slices.IndexFunc(types, func(t contracts.TypeInfo) bool { return t.Type == eventType }))
	}
	for _, info := range types {
		f.Add(index(info.Type), []byte(readGolden(f, info.Type).wire["data"]))
	}
	for _, c := range slices.Concat(badPayloads, goodPayloads) {
		f.Add(index(c.typ), c.data(f))
	}
	schemas := compileSchemas(f)

	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		info := types[int(which)%len(types)]
		p, err := contracts.DecodeData(info.Type, data)
		if err != nil {
			var de *contracts.DataError
			if !errors.As(err, &de) || de.Type != info.Type || de.Reason == "" {
				t.Fatalf("error %#v (%v), want a *DataError of %s with a reason", err, err, info.Type)
			}
			if de.Field != "" && !strings.Contains(err.Error(), `"`+de.Field+`"`) {
				t.Fatalf("message %q does not name field %q", err, de.Field)
			}
			return
		}
		if reflect.TypeOf(p) != info.GoType {
			t.Fatalf("decoded a %T, want %v", p, info.GoType)
		}
		if err := validateSchema(schemas[info.Type], data); err != nil {
			t.Fatalf("decoder accepted data that the schema refuses: %v\ndata: %s", err, data)
		}

		encoded, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("encode %+v: %v", p, err)
		}
		again, err := contracts.DecodeData(info.Type, encoded)
		if err != nil {
			t.Fatalf("decode of the re-encoded payload: %v\nencoded: %s", err, encoded)
		}
		if reencoded, _ := json.Marshal(again); !bytes.Equal(reencoded, encoded) {
			t.Fatalf("payload changed in a round trip:\n%s\n%s", encoded, reencoded)
		}

		ev, err := contracts.NewEvent(p, 1)
		if err != nil {
			t.Fatalf("NewEvent(%+v): %v", p, err)
		}
		viaEvent, err := contracts.DecodeEvent(ev)
		if err != nil {
			t.Fatalf("DecodeEvent of NewEvent: %v", err)
		}
		if b, _ := json.Marshal(viaEvent); !bytes.Equal(b, encoded) {
			t.Fatalf("payload changed through an event:\n%s\n%s", encoded, b)
		}
	})
}
