package terminal

import "encoding/json"

// Reply is a terminal operation's answer: what became of the request and a
// JSON body. It is stored with its idempotency key, so a retry gets the same
// bytes.
type Reply struct {
	Outcome Outcome
	Body    []byte
	// Replayed is set on the answer to a retry.
	Replayed bool
}

// Outcome is what became of a terminal request; package web says what each
// means in HTTP.
//
// An outcome's number is stored with the idempotency key and replayed, so the
// numbers never change. They are the numbers that the stored answers have
// always carried (the terminal API's status codes), so that an answer stored
// before still replays the same.
type Outcome int

// The outcomes of a terminal request.
const (
	// Settled: an authorisation was captured or voided.
	Settled Outcome = 200
	// Recorded: a purchase was recorded, approved, declined or forced.
	Recorded Outcome = 201
	// Unknown: the authorisation or card named does not exist.
	Unknown Outcome = 404
	// Conflicting: the request clashes with the state it meets (an
	// authorisation that is no longer pending, a key still in flight).
	Conflicting Outcome = 409
	// Invalid: the request cannot be carried out as asked (an amount, a
	// currency, a key used for another request).
	Invalid Outcome = 422
)

// APIError is the body of a refusal: {"error": {"code": ..., "message": ...}}.
type APIError struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what is wrong: a code for programs, a sentence for people.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field names the request field that is wrong, if one is.
	Field string `json:"field,omitempty"`
}

// RefusalBody is the JSON body of a refusal.
func RefusalBody(code, message, field string) []byte {
	b, _ := json.Marshal(APIError{Error: ErrorDetail{Code: code, Message: message, Field: field}})
	return b
}

// refusal builds the reply of a refused request.
func refusal(outcome Outcome, code, message, field string) Reply {
	return Reply{Outcome: outcome, Body: RefusalBody(code, message, field)}
}
