package web

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/scs-platform/scs-cards/internal/terminal"
)

// maxAPIBody bounds a terminal request's body; the largest is far smaller.
const maxAPIBody = 8 << 10

// terminalScope is the idempotency scope of the terminal credential.
const terminalScope = "terminal"

// apiHeaders marks every terminal answer as JSON that no one caches.
func (h *handlers) apiHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// terminalOnly lets through only the terminal's bearer credential, compared
// in constant time. The scheme's name is case-insensitive (RFC 9110, section
// 11.1): "bearer" is "Bearer".
func (h *handlers) terminalOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(token), []byte(h.terminalToken)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="cards terminal"`)
			writeRefusal(w, http.StatusUnauthorized, "unauthorised",
				"Send the terminal credential as \"Authorization: Bearer <token>\".", "")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *handlers) apiNotFound(w http.ResponseWriter, r *http.Request) {
	writeRefusal(w, http.StatusNotFound, "not_found", "There is no such operation; see the terminal API in the README.", "")
}

func (h *handlers) apiMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeRefusal(w, http.StatusMethodNotAllowed, "method_not_allowed", "Every terminal operation is a POST.", "")
}

// writeReply writes the terminal's answer, a replayed one as it was first
// written.
func writeReply(w http.ResponseWriter, reply terminal.Reply) {
	if reply.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, statusOf(reply.Outcome), reply.Body)
}

// writeRefusal writes a refusal of the terminal API's own.
func writeRefusal(w http.ResponseWriter, status int, code, message, field string) {
	writeJSON(w, status, terminal.RefusalBody(code, message, field))
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	_, _ = w.Write([]byte("\n"))
}

// statusOf is what a terminal outcome means in HTTP.
func statusOf(o terminal.Outcome) int {
	switch o {
	case terminal.Settled:
		return http.StatusOK
	case terminal.Recorded:
		return http.StatusCreated
	case terminal.Unknown:
		return http.StatusNotFound
	case terminal.Conflicting:
		return http.StatusConflict
	case terminal.Invalid:
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

// badRequest is a refusal of a request before it reaches the card account:
// what is wrong with its headers or its JSON.
type badRequest struct {
	status        int
	code, message string
	field         string
}

func (e *badRequest) Error() string { return e.message }

func (e *badRequest) write(w http.ResponseWriter) {
	writeRefusal(w, e.status, e.code, e.message, e.field)
}

func refused(status int, code, field, format string, args ...any) *badRequest {
	return &badRequest{status: status, code: code, field: field, message: fmt.Sprintf(format, args...)}
}

// terminalRequest reads what every terminal request has: an Idempotency-Key
// and a JSON body of at most maxAPIBody bytes.
func terminalRequest(w http.ResponseWriter, r *http.Request) (key string, body []byte, bad *badRequest) {
	key = r.Header.Get("Idempotency-Key")
	if err := checkKey(key); err != nil {
		return "", nil, err
	}
	if ct := r.Header.Get("Content-Type"); ct != "" || r.ContentLength != 0 {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return "", nil, refused(http.StatusUnsupportedMediaType, "unsupported_media_type", "",
				"Send the request as JSON, with \"Content-Type: application/json\".")
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAPIBody))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return "", nil, refused(http.StatusRequestEntityTooLarge, "too_large", "", "The request body may have at most %d bytes.", maxAPIBody)
	}
	if err != nil {
		return "", nil, refused(http.StatusBadRequest, "unreadable", "", "The request body could not be read.")
	}
	return key, body, nil
}

// checkKey accepts an Idempotency-Key of 1 to 255 printable ASCII
// characters, as a UUID is.
func checkKey(key string) *badRequest {
	switch {
	case key == "":
		return refused(http.StatusBadRequest, "idempotency_key_missing", "", "Send an Idempotency-Key header (a new UUID for each new request, the same one on a retry).")
	case len(key) > terminal.MaxKeyLength:
		return refused(http.StatusBadRequest, "idempotency_key_invalid", "", "The Idempotency-Key may have at most %d characters.", terminal.MaxKeyLength)
	}
	for _, c := range []byte(key) {
		if c < 0x21 || c > 0x7e {
			return refused(http.StatusBadRequest, "idempotency_key_invalid", "", "The Idempotency-Key may hold only printable ASCII characters without spaces.")
		}
	}
	return nil
}

// decodeJSON reads body, one JSON object, into v: no unknown fields, nothing
// after it. Each failure says what is wrong and where.
func decodeJSON(body []byte, v any, allowEmpty bool) *badRequest {
	if len(bytes.TrimSpace(body)) == 0 {
		if allowEmpty {
			return nil
		}
		return refused(http.StatusBadRequest, "empty_body", "", "The request body is empty; send a JSON object.")
	}
	if !utf8.Valid(body) {
		return refused(http.StatusBadRequest, "invalid_json", "", "The request body is not UTF-8 text.")
	}
	if bad := checkKeysOnce(body); bad != nil {
		return bad
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return refused(http.StatusBadRequest, "invalid_json", "", "The request body has more after its JSON object; send one object.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return refused(http.StatusBadRequest, "invalid_json", "", "The request body has more after its JSON object; send one object.")
	}
	return nil
}

// checkKeysOnce refuses an object, at any depth, that names a key twice, or
// two keys that differ only in case. encoding/json would take the last of two
// and match a key to a field whatever its case, so such a body means one
// thing here and maybe another to whoever checked it on its way (a terminal's
// own log, a gateway's filter): {"amount_minor": 1, "AMOUNT_MINOR": 900000}.
// Invalid JSON is left to the decoder, whose message says where.
func checkKeysOnce(body []byte) *badRequest {
	dec := json.NewDecoder(bytes.NewReader(body))
	// One set of keys per open object; nil for an open array.
	var open []map[string]string
	expectKey := func() bool { return len(open) > 0 && open[len(open)-1] != nil }
	for {
		// Token reports a key as a string; expectKey tells it from a value
		// by where it stands: right after '{' or after a whole value.
		atKey := expectKey()
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{':
				open = append(open, map[string]string{})
			case '[':
				open = append(open, nil)
			default:
				open = open[:len(open)-1]
			}
		case string:
			if !atKey {
				break
			}
			keys := open[len(open)-1]
			folded := foldKey(tok)
			if first, seen := keys[folded]; seen {
				if first == tok {
					return refused(http.StatusBadRequest, "duplicate_field", tok, "The field %s appears twice in one object; send each field once.", jsonQuote(tok))
				}
				return refused(http.StatusBadRequest, "duplicate_field", tok,
					"The fields %s and %s differ only in case, and would be read as one; send each field once, as the README spells it.", jsonQuote(first), jsonQuote(tok))
			}
			keys[folded] = tok
			// The value that follows is read as a value, not a key.
			if err := skipValue(dec, &open); err != nil {
				return nil
			}
		}
	}
}

// skipValue reads the value after a key: a scalar is consumed here; an object
// or an array is opened on open and walked by the caller's loop.
func skipValue(dec *json.Decoder, open *[]map[string]string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		*open = append(*open, map[string]string{})
	case json.Delim('['):
		*open = append(*open, nil)
	}
	return nil
}

// foldKey is key as encoding/json compares field names (bytes.EqualFold):
// each rune replaced by the smallest of its case-folding orbit, so "K", "k"
// and the Kelvin sign are one.
func foldKey(key string) string {
	return strings.Map(func(r rune) rune {
		for {
			next := unicode.SimpleFold(r)
			if next <= r {
				return next
			}
			r = next
		}
	}, key)
}

func jsonError(err error) *badRequest {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return refused(http.StatusBadRequest, "invalid_json", "", "The request body is not valid JSON (at byte %d: %s).", se.Offset, se.Error())
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if te.Field == "" {
			return refused(http.StatusBadRequest, "invalid_json", "", "The request body must be a JSON object, not a %s.", te.Value)
		}
		return refused(http.StatusBadRequest, "invalid_field", te.Field, "%s must be %s, not a %s.", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return refused(http.StatusBadRequest, "invalid_json", "", "The request body ends in the middle of its JSON.")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		field := strings.Trim(name, `"`)
		return refused(http.StatusBadRequest, "unknown_field", field, "There is no field %s in this request.", name)
	}
	return refused(http.StatusBadRequest, "invalid_json", "", "The request body is not valid JSON: %s.", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(kind string) string {
	switch kind {
	case "int64", "int":
		return "a whole number"
	case "string":
		return "a string"
	}
	return "a " + kind
}

// authorisationID reads the {id} of the path: a UUID, or no such
// authorisation.
func authorisationID(r *http.Request) (string, *badRequest) {
	id := chi.URLParam(r, "id")
	if !isUUID(id) {
		return "", refused(http.StatusNotFound, "unknown_authorisation", "", "There is no authorisation %s.", jsonQuote(id))
	}
	return strings.ToLower(id), nil
}

// isUUID accepts a UUID in its 36-character form, in either case: a UUID is
// read case-insensitively (RFC 9562, section 4). The ids are stored in lower
// case, so a caller looks up strings.ToLower of what it accepted; otherwise a
// terminal that writes a card's id in capitals would get "unknown card".
func isUUID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && len(s) == 36 && u.String() == strings.ToLower(s)
}

func jsonQuote(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// api answers a terminal operation: read, check, run under the key.
func (h *handlers) api(w http.ResponseWriter, r *http.Request, run func(key string, body []byte) (terminal.Reply, *badRequest, error)) {
	key, body, bad := terminalRequest(w, r)
	if bad != nil {
		bad.write(w)
		return
	}
	reply, bad, err := run(key, body)
	switch {
	case bad != nil:
		bad.write(w)
	case err != nil:
		h.logger.ErrorContext(r.Context(), "terminal operation", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "1")
		writeRefusal(w, http.StatusServiceUnavailable, "unavailable", "The card system could not answer just now; retry with the same Idempotency-Key.", "")
	default:
		writeReply(w, reply)
	}
}
