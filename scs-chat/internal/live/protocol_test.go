package live

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseClientFrameAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame string
		want  ClientFrame
	}{
		{"send", `{"type":"send","conversation":"c-1","client_id":"k_1","text":"hi"}`,
			ClientFrame{Type: FrameSend, Conversation: "c-1", ClientID: "k_1", Text: "hi"}},
		{"send in another order, with spaces", " {\n\"text\" : \"\" , \"client_id\":\"K\",\"type\":\"send\",\"conversation\":\"c\"}\r\n",
			ClientFrame{Type: FrameSend, Conversation: "c", ClientID: "K", Text: ""}},
		{"escapes and a surrogate pair", `{"type":"send","conversation":"c","client_id":"k","text":"\u00e9\ud83d\ude00\n\"\\ud800"}`,
			ClientFrame{Type: FrameSend, Conversation: "c", ClientID: "k", Text: "é😀\n\"\\ud800"}},
		{"a 64-character client_id", `{"type":"send","conversation":"c","client_id":"` + strings.Repeat("z", 64) + `","text":"x"}`,
			ClientFrame{Type: FrameSend, Conversation: "c", ClientID: strings.Repeat("z", 64), Text: "x"}},
		{"resume", `{"type":"resume","conversation":"c","after":0}`,
			ClientFrame{Type: FrameResume, Conversation: "c"}},
		{"resume after the largest seq", `{"type":"resume","conversation":"c","after":9223372036854775807}`,
			ClientFrame{Type: FrameResume, Conversation: "c", After: 9223372036854775807}},
		{"ping", `{"type":"ping"}`, ClientFrame{Type: FramePing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseClientFrame([]byte(tt.frame))
			if err != nil {
				t.Fatalf("ParseClientFrame(%s) = %v", tt.frame, err)
			}
			if got != tt.want {
				t.Errorf("ParseClientFrame(%s) =\n\t%+v\nwant\n\t%+v", tt.frame, got, tt.want)
			}
		})
	}
}

func TestParseClientFrameRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		frame    string
		want     string
		clientID string
	}{
		{"empty", ``, "the frame is not valid JSON", ""},
		{"null", `null`, "the frame must be a JSON object", ""},
		{"a string", `"ping"`, "the frame must be a JSON object", ""},
		{"too many fields", `{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6}`, "the frame has too many fields", ""},
		{"field in the wrong case", `{"Type":"ping"}`, `unknown field "Type"`, ""},
		{"null type", `{"type":null}`, `"type" must be a string`, ""},
		{"type in the wrong case", `{"type":"PING"}`, `unknown frame type "PING": it must be "send", "resume" or "ping"`, ""},
		{"resume without conversation", `{"type":"resume","after":1}`, `a "resume" frame needs the field "conversation"`, ""},
		{"resume without after", `{"type":"resume","conversation":"c"}`, `a "resume" frame needs the field "after"`, ""},
		{"null after", `{"type":"resume","conversation":"c","after":null}`, `"after" must be a whole number, 0 or more`, ""},
		{"after with an exponent", `{"type":"resume","conversation":"c","after":1e3}`, `"after" must be a whole number, 0 or more`, ""},
		{"empty client_id", `{"type":"send","conversation":"c","client_id":"","text":"x"}`, `"client_id" must be 1 to 64 letters, digits, '-' or '_'`, ""},
		{"empty conversation", `{"type":"send","conversation":"","client_id":"k","text":"x"}`, `"conversation" must be 1 to 64 letters, digits, '-' or '_'`, "k"},
		{"conversation a number", `{"type":"send","conversation":7,"client_id":"k","text":"x"}`, `"conversation" must be a string`, "k"},
		{"lone low surrogate", `{"type":"send","conversation":"c","client_id":"k","text":"\udc00"}`, "the text is not valid Unicode", "k"},
		{"high surrogate at the end", `{"type":"send","conversation":"c","client_id":"k","text":"x\ud800"}`, "the text is not valid Unicode", "k"},
		{"two high surrogates", `{"type":"send","conversation":"c","client_id":"k","text":"\ud800\ud800"}`, "the text is not valid Unicode", "k"},
		{"overlong UTF-8", "{\"type\":\"ping\",\"text\":\"\xc0\xaf\"}", "the frame is not valid UTF-8", ""},
		{"trailing comma", `{"type":"ping",}`, "the frame is not valid JSON", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseClientFrame([]byte(tt.frame))
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("ParseClientFrame(%s) = %v, want a FrameError", tt.frame, err)
			}
			if fe.Message != tt.want || fe.ClientID != tt.clientID {
				t.Errorf("ParseClientFrame(%s) = %q (client_id %q), want %q (client_id %q)", tt.frame, fe.Message, fe.ClientID, tt.want, tt.clientID)
			}
			if fe.UserMessage() != fe.Message {
				t.Errorf("UserMessage = %q", fe.UserMessage())
			}
		})
	}
}

func TestMessageFrame(t *testing.T) {
	t.Parallel()
	sentAt := time.Date(2025, 6, 1, 14, 0, 0, 5, time.FixedZone("CEST", 2*3600))
	got := string(MessageFrame(Message{Conversation: "c", Seq: 7, From: "u1", ClientID: "k", Text: "<hi>", SentAt: sentAt}))
	want := `{"type":"message","conversation":"c","seq":7,"from":"u1","client_id":"k","text":"\u003chi\u003e","sent_at":"2025-06-01T12:00:00.000000005Z"}`
	if got != want {
		t.Errorf("MessageFrame =\n\t%s\nwant\n\t%s", got, want)
	}
	if got, want := string(Ended("c", "partner")), `{"type":"ended","conversation":"c","by":"partner"}`; got != want {
		t.Errorf("Ended = %s, want %s", got, want)
	}
	if got, want := string(errorFrame("no", "")), `{"type":"error","error":"no"}`; got != want {
		t.Errorf("errorFrame = %s, want %s", got, want)
	}
}

// FuzzParseClientFrame checks that parsing never panics, that a refusal is a
// FrameError in words, and that every accepted frame encodes to one that parses
// back to the same value.
func FuzzParseClientFrame(f *testing.F) {
	for _, seed := range []string{
		`{"type":"send","conversation":"c1","client_id":"k1","text":"hello"}`,
		`{"type":"send","conversation":"c1","client_id":"k1","text":"\u00e9\ud83d\ude00\\ud800"}`,
		`{"type":"resume","conversation":"c1","after":42}`,
		`{"type":"resume","conversation":"c1","after":-0}`,
		`{"type":"ping"}`,
		`{"type":"ping"} `,
		`{"type":"ping"}{}`,
		`{"type":"send","type":"send"}`,
		`{"type":"send","conversation":"c1","client_id":"k1","text":"\ud800"}`,
		"{\"type\":\"send\",\"conversation\":\"c1\",\"client_id\":\"k1\",\"text\":\"\xff\"}",
		`[]`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		frame, err := ParseClientFrame(data)
		if err != nil {
			var fe *FrameError
			if !errors.As(err, &fe) || fe.Message == "" {
				t.Fatalf("ParseClientFrame(%q) = %v, want a FrameError with a message", data, err)
			}
			if fe.ClientID != "" && !validID(fe.ClientID) {
				t.Fatalf("the error names an invalid client_id %q", fe.ClientID)
			}
			return
		}
		encoded, err := json.Marshal(frame)
		if err != nil {
			t.Fatalf("encode %+v: %v", frame, err)
		}
		again, err := ParseClientFrame(encoded)
		if err != nil {
			t.Fatalf("ParseClientFrame(%s) accepted %+v, which encodes to %s, which it refuses: %v", data, frame, encoded, err)
		}
		if again != frame {
			t.Fatalf("ParseClientFrame(%s) = %+v, but its encoding %s parses to %+v", data, frame, encoded, again)
		}
	})
}
