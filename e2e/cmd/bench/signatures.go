package main

import (
	"testing"
	"time"

	"github.com/scs-platform/shared-events/contracts/cloudevent"
	"github.com/scs-platform/shared-events/eventing/eventsig"
)

// signatureCost is what the owner's signature costs (b) per event: the relay
// signs each event as it publishes it, and the consumer checks each one before
// applying it (see eventsig). Measured in the same run as (b), so that the
// share of (b)'s CPU per event compares figures of one machine state.
type signatureCost struct {
	Sign, Verify time.Duration
}

// measureSignatures times eventsig's Sign and Verify on an event of the size
// (b) sends.
func measureSignatures(n names) (signatureCost, error) {
	signer := eventsig.DevelopmentSigner(n.owner)
	ev, err := cloudevent.New(n.source(), n.oursType(), "subject-0", 1, map[string]any{"subject": "subject-0", "sent_ns": time.Now().UnixNano()})
	if err != nil {
		return signatureCost{}, err
	}
	ev.Sequence = 1
	signed, err := signer.Sign(ev)
	if err != nil {
		return signatureCost{}, err
	}
	keys := signer.Keys()
	sign := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			_, _ = signer.Sign(ev)
		}
	})
	verify := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			_ = keys.Verify(signed)
		}
	})
	return signatureCost{Sign: time.Duration(sign.NsPerOp()), Verify: time.Duration(verify.NsPerOp())}, nil
}
