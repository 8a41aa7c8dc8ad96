package contracts

import (
	"embed"
	"fmt"
	"io/fs"
)

//go:embed schemas/*.json
var schemaFiles embed.FS

// Schema returns the JSON Schema (draft 2020-12) of the data of eventType's events.
func Schema(eventType string) ([]byte, error) {
	if _, ok := Lookup(eventType); !ok {
		return nil, fmt.Errorf("contracts: schema: %w %q", ErrUnknownType, eventType)
	}
	b, err := schemaFiles.ReadFile("schemas/" + eventType + ".json")
	if err != nil {
		return nil, fmt.Errorf("contracts: schema of %s: %w", eventType, err)
	}
	return b, nil
}

// Schemas returns every schema as a file system with one "<type>.json" file per
// registered type, for tools that load schemas by file name.
func Schemas() fs.FS {
	sub, err := fs.Sub(schemaFiles, "schemas")
	if err != nil {
		panic(err) // "schemas" is a valid path, so fs.Sub cannot fail.
	}
	return sub
}
