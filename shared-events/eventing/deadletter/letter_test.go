package deadletter

import (
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestLetterOf(t *testing.T) {
	failed := time.Date(2025, 3, 1, 12, 0, 0, 123000000, time.UTC)
	died := time.Date(2025, 3, 2, 8, 30, 0, 0, time.UTC)
	brokerDeath := amqp.Table{"count": int64(2), "queue": "chat.from-users", "reason": "delivery_limit", "time": died.Local()}
	tests := []struct {
		name string
		d    amqp.Delivery
		want Letter
	}{
		{
			name: "dead-lettered by the consumer",
			d: amqp.Delivery{MessageId: "m1", Type: "users.user.registered.v1", Body: []byte(`{}`), Headers: amqp.Table{
				"x-scs-reason": "handler: boom", "x-scs-attempts": "5", "x-scs-failed-at": failed.Format(time.RFC3339Nano),
				"x-scs-queue": "chat.from-users", "x-delivery-count": int64(3),
			}},
			want: Letter{MessageID: "m1", Type: "users.user.registered.v1", Reason: "handler: boom", Attempts: 5,
				FailedAt: failed, Queue: "chat.from-users", DeliveryCount: 3, Body: []byte(`{}`)},
		},
		{
			name: "attempts as a number",
			d:    amqp.Delivery{MessageId: "m1", Headers: amqp.Table{"x-scs-reason": "handler: boom", "x-scs-attempts": int32(7)}},
			want: Letter{MessageID: "m1", Reason: "handler: boom", Attempts: 7},
		},
		{
			name: "dead-lettered by the broker",
			d: amqp.Delivery{MessageId: "m2", Type: "users.user.registered.v1", Headers: amqp.Table{
				"x-death":              []any{brokerDeath},
				"x-first-death-reason": "rejected", "x-first-death-queue": "elsewhere",
			}},
			want: Letter{MessageID: "m2", Type: "users.user.registered.v1", Reason: "delivery_limit", FailedAt: died,
				Queue: "chat.from-users", Deaths: 2},
		},
		{
			name: "only x-first-death headers",
			d:    amqp.Delivery{MessageId: "m3", Headers: amqp.Table{"x-first-death-reason": "delivery_limit", "x-first-death-queue": "chat.from-users"}},
			want: Letter{MessageID: "m3", Reason: "delivery_limit", Queue: "chat.from-users"},
		},
		{
			name: "the broker's death is newer than the consumer's",
			d: amqp.Delivery{MessageId: "m4", Headers: amqp.Table{
				"x-scs-reason": "handler: boom", "x-scs-attempts": "5", "x-scs-failed-at": failed.Format(time.RFC3339Nano),
				"x-scs-queue": "chat.from-users", "x-death": []any{brokerDeath},
			}},
			want: Letter{MessageID: "m4", Reason: "delivery_limit", FailedAt: died, Queue: "chat.from-users", Deaths: 2},
		},
		{
			name: "the consumer's death is newer than the broker's",
			d: amqp.Delivery{MessageId: "m5", Headers: amqp.Table{
				"x-scs-reason": "handler: boom", "x-scs-attempts": "5", "x-scs-failed-at": died.Add(time.Hour).Format(time.RFC3339Nano),
				"x-scs-queue": "chat.from-users", "x-death": []any{brokerDeath},
			}},
			want: Letter{MessageID: "m5", Reason: "handler: boom", Attempts: 5, FailedAt: died.Add(time.Hour), Queue: "chat.from-users", Deaths: 2},
		},
		{
			name: "id and type from the CloudEvent when the properties lack them",
			d:    amqp.Delivery{Body: []byte(`{"id":"e1","type":"cards.card.frozen.v1"}`), Headers: amqp.Table{"x-scs-reason": "undecodable: x"}},
			want: Letter{MessageID: "e1", Type: "cards.card.frozen.v1", Reason: "undecodable: x", Body: []byte(`{"id":"e1","type":"cards.card.frozen.v1"}`)},
		},
		{
			name: "a body that is no JSON and no headers",
			d:    amqp.Delivery{Body: []byte("\x00garbage")},
			want: Letter{Body: []byte("\x00garbage")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := letterOf(tt.d)
			w := tt.want
			if got.MessageID != w.MessageID || got.Type != w.Type || got.Reason != w.Reason || got.Attempts != w.Attempts ||
				!got.FailedAt.Equal(w.FailedAt) || got.Queue != w.Queue || got.DeliveryCount != w.DeliveryCount ||
				got.Deaths != w.Deaths || string(got.Body) != string(w.Body) {
				t.Errorf("letterOf =\n  %+v\nwant\n  %+v", got, w)
			}
			if len(got.Headers) != len(tt.d.Headers) {
				t.Errorf("Headers = %v, want all of %v", got.Headers, tt.d.Headers)
			}
		})
	}
}

func TestOneLine(t *testing.T) {
	long := "handler: " + strings.Repeat("x", 200)
	tests := []struct{ in, want string }{
		{"handler: boom", "handler: boom"},
		{"", "-"},
		{"handler: boom\ngoroutine 1 [running]:\nmain.main()", "handler: boom…"},
		{"  undecodable:\tbad\r\n", "undecodable: bad"},
		{long, long[:reasonWidth-1] + "…"},
	}
	for _, tt := range tests {
		if got := oneLine(tt.in); got != tt.want {
			t.Errorf("oneLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
