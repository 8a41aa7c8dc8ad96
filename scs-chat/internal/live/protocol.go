package live

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

// The protocol: every frame is one JSON object in a websocket text message.
//
// Client to server:
//
//	{"type":"send","conversation":"<id>","client_id":"<id>","text":"..."}
//	{"type":"resume","conversation":"<id>","after":<seq>}
//	{"type":"ping"}
//
// Server to client:
//
//	{"type":"message","conversation":"..","seq":n,"from":"<user id>","client_id":"..","text":"..","sent_at":"<RFC 3339>"}
//	{"type":"ack","client_id":"..","seq":n}
//	{"type":"error","error":"<plain words>","client_id":".."}   (client_id when known)
//	{"type":"pong"}
//
// and whatever the rest of the system passes to Hub.Deliver: any JSON object
// with a "type", such as Matched and Ended build.

// The types of client frames.
const (
	FrameSend   = "send"
	FrameResume = "resume"
	FramePing   = "ping"
)

// MaxIDLength is the longest client_id or conversation id a frame may carry.
const MaxIDLength = 64

// ClientFrame is a frame a client sent, as ParseClientFrame accepted it. Only the
// fields of its Type are set.
type ClientFrame struct {
	Type         string
	Conversation string // send, resume
	ClientID     string // send
	Text         string // send
	After        int64  // resume
}

// MarshalJSON encodes f as the client sends it, with the fields of its type only.
func (f ClientFrame) MarshalJSON() ([]byte, error) {
	switch f.Type {
	case FrameSend:
		return json.Marshal(struct {
			Type         string `json:"type"`
			Conversation string `json:"conversation"`
			ClientID     string `json:"client_id"`
			Text         string `json:"text"`
		}{f.Type, f.Conversation, f.ClientID, f.Text})
	case FrameResume:
		return json.Marshal(struct {
			Type         string `json:"type"`
			Conversation string `json:"conversation"`
			After        int64  `json:"after"`
		}{f.Type, f.Conversation, f.After})
	case FramePing:
		return []byte(`{"type":"ping"}`), nil
	}
	return nil, fmt.Errorf("live: cannot encode a frame of type %q", f.Type)
}

// FrameError is a frame ParseClientFrame refused. Message says why in words fit
// for the user; ClientID is the frame's client_id if it had a valid one, so that
// the client can tell which of its sends failed.
type FrameError struct {
	Message  string
	ClientID string
}

func (e *FrameError) Error() string { return "live: bad frame: " + e.Message }

// UserMessage implements UserError.
func (e *FrameError) UserMessage() string { return e.Message }

// fieldsOf lists the fields each frame type must have, and may only have.
var fieldsOf = map[string][]string{
	FrameSend:   {"type", "conversation", "client_id", "text"},
	FrameResume: {"type", "conversation", "after"},
	FramePing:   {"type"},
}

// knownFields is every field name of any frame type; a frame with another
// field is refused before its type is looked at.
var knownFields = map[string]bool{"type": true, "conversation": true, "client_id": true, "text": true, "after": true}

// ParseClientFrame parses one client frame strictly: anything but one JSON
// object of a known type with exactly that type's fields, each of the right JSON
// type and valid, is refused with a *FrameError. Duplicate fields are refused
// too: decoders disagree on which copy wins. The length of a message's text is
// not checked here; that is the Backend's rule.
func ParseClientFrame(data []byte) (ClientFrame, error) {
	if !utf8.Valid(data) {
		return ClientFrame{}, &FrameError{Message: "the frame is not valid UTF-8"}
	}
	fields, names, err := objectFields(data)
	if err != nil {
		return ClientFrame{}, err
	}
	var f ClientFrame
	// The client_id is read first so that every later error can name it.
	if raw, ok := fields["client_id"]; ok {
		id, ok := stringField(raw)
		if !ok {
			return ClientFrame{}, &FrameError{Message: `"client_id" must be a string`}
		}
		if !validID(id) {
			return ClientFrame{}, &FrameError{Message: fmt.Sprintf(`"client_id" must be 1 to %d letters, digits, '-' or '_'`, MaxIDLength)}
		}
		f.ClientID = id
	}
	fail := func(format string, args ...any) (ClientFrame, error) {
		return ClientFrame{}, &FrameError{Message: fmt.Sprintf(format, args...), ClientID: f.ClientID}
	}
	for _, name := range names {
		if !knownFields[name] {
			return fail("unknown field %q", name)
		}
	}
	raw, ok := fields["type"]
	if !ok {
		return fail(`the frame has no "type"`)
	}
	if f.Type, ok = stringField(raw); !ok {
		return fail(`"type" must be a string`)
	}
	want, ok := fieldsOf[f.Type]
	if !ok {
		return fail(`unknown frame type %q: it must be "send", "resume" or "ping"`, f.Type)
	}
	for _, name := range names {
		if !contains(want, name) {
			return fail("a %q frame has no field %q", f.Type, name)
		}
	}
	for _, name := range want {
		if _, ok := fields[name]; !ok {
			return fail("a %q frame needs the field %q", f.Type, name)
		}
	}
	if raw, ok := fields["conversation"]; ok {
		id, ok := stringField(raw)
		if !ok {
			return fail(`"conversation" must be a string`)
		}
		if !validID(id) {
			return fail(`"conversation" must be 1 to %d letters, digits, '-' or '_'`, MaxIDLength)
		}
		f.Conversation = id
	}
	if raw, ok := fields["text"]; ok {
		text, ok := stringField(raw)
		if !ok {
			return fail(`"text" must be a string`)
		}
		// encoding/json turns an unpaired surrogate escape into U+FFFD without
		// complaint; it is the JSON spelling of invalid UTF-8, so it is refused
		// like the raw bytes are.
		if !pairedSurrogates(raw) {
			return fail("the text is not valid Unicode")
		}
		f.Text = text
	}
	if raw, ok := fields["after"]; ok {
		// Unmarshal into an int64 refuses fractions, exponents and overflow, but
		// would accept null (by leaving the value alone), hence the first check.
		if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) || json.Unmarshal(raw, &f.After) != nil || f.After < 0 {
			return fail(`"after" must be a whole number, 0 or more`)
		}
	}
	return f, nil
}

// objectFields splits data, which must be exactly one JSON object, into its
// fields, refusing repeated names. names is the fields' order in data.
func objectFields(data []byte) (fields map[string]json.RawMessage, names []string, err error) {
	notJSON := &FrameError{Message: "the frame is not valid JSON"}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, notJSON
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, &FrameError{Message: "the frame must be a JSON object"}
	}
	fields = make(map[string]json.RawMessage, 4)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, notJSON
		}
		name, ok := tok.(string)
		if !ok {
			return nil, nil, notJSON
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, notJSON
		}
		if _, dup := fields[name]; dup {
			return nil, nil, &FrameError{Message: fmt.Sprintf("the field %q appears twice", name)}
		}
		fields[name] = raw
		names = append(names, name)
		if len(fields) > len(knownFields) {
			return nil, nil, &FrameError{Message: "the frame has too many fields"}
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, notJSON
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, nil, &FrameError{Message: "there is more data after the frame"}
	}
	return fields, names, nil
}

// stringField decodes raw if it is a JSON string.
func stringField(raw json.RawMessage) (string, bool) {
	var s string
	// Unmarshal would leave s alone for null: only a JSON string will do.
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func validID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// pairedSurrogates reports whether every \u escape of a UTF-16 surrogate in the
// JSON string raw is a high surrogate directly followed by a low one. raw has
// been checked to be a valid JSON string.
func pairedSurrogates(raw []byte) bool {
	hex4 := func(b []byte) rune {
		var r rune
		for _, c := range b {
			r <<= 4
			switch {
			case '0' <= c && c <= '9':
				r |= rune(c - '0')
			case 'a' <= c && c <= 'f':
				r |= rune(c - 'a' + 10)
			case 'A' <= c && c <= 'F':
				r |= rune(c - 'A' + 10)
			}
		}
		return r
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++
		if raw[i] != 'u' {
			continue
		}
		r := hex4(raw[i+1 : i+5])
		i += 4
		switch {
		case 0xDC00 <= r && r <= 0xDFFF:
			return false
		case 0xD800 <= r && r <= 0xDBFF:
			if i+6 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
				return false
			}
			if lo := hex4(raw[i+3 : i+7]); lo < 0xDC00 || lo > 0xDFFF {
				return false
			}
			i += 6
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// MessageFrame is the frame that delivers m.
func MessageFrame(m Message) []byte {
	return encode(struct {
		Type         string `json:"type"`
		Conversation string `json:"conversation"`
		Seq          int64  `json:"seq"`
		From         string `json:"from"`
		ClientID     string `json:"client_id"`
		Text         string `json:"text"`
		SentAt       string `json:"sent_at"`
	}{"message", m.Conversation, m.Seq, m.From, m.ClientID, m.Text, m.SentAt.UTC().Format(time.RFC3339Nano)})
}

// Matched is the frame that sends a waiting user to the page of the
// conversation that has begun, at url (such as "/chat/conversations/<id>").
func Matched(url string) []byte {
	return encode(struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	}{"matched", url})
}

// Ended is the frame that tells a member that conversation has ended, and by whom
// ("partner", "you", "system").
func Ended(conversation, by string) []byte {
	return encode(struct {
		Type         string `json:"type"`
		Conversation string `json:"conversation"`
		By           string `json:"by"`
	}{"ended", conversation, by})
}

// Renamed is the frame that tells a member that the partner in conversation
// is now called name.
func Renamed(conversation, name string) []byte {
	return encode(struct {
		Type         string `json:"type"`
		Conversation string `json:"conversation"`
		Name         string `json:"name"`
	}{"renamed", conversation, name})
}

func ackFrame(clientID string, seq int64) []byte {
	return encode(struct {
		Type     string `json:"type"`
		ClientID string `json:"client_id"`
		Seq      int64  `json:"seq"`
	}{"ack", clientID, seq})
}

func errorFrame(message, clientID string) []byte {
	return encode(struct {
		Type     string `json:"type"`
		Error    string `json:"error"`
		ClientID string `json:"client_id,omitempty"`
	}{"error", message, clientID})
}

var pongFrame = []byte(`{"type":"pong"}`)

// encode marshals the frame structs above, which hold only strings and
// integers: json.Marshal cannot fail on them.
func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("live: encode frame: " + err.Error())
	}
	return b
}
