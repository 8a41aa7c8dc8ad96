package outbox

import (
	"context"
	"fmt"
	"io"

	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/eventing/eventsig"
)

// EventKeyUsage is the command line of EventKeyCommand.
const EventKeyUsage = "eventkey [public | resign OLD_PUBLIC_KEY[,...]]"

// EventKeyCommand is the operators' "scs-<name> eventkey" command, with the
// running system's environment:
//
//	eventkey                      the public half of EVENT_SIGNING_KEY, for the consumers' <NAME>_EVENT_KEYS
//	eventkey resign OLD[,...]     after a rotation: sign again with EVENT_SIGNING_KEY every stored event
//	                              that the old key signed, so that the feed serves the owner's history
//	                              with the new key and the consumers can drop the old one
//
// It returns an error a caller reports as a usage error (wrapped by usage)
// when args are not one of these.
func EventKeyCommand(ctx context.Context, args []string, owner string, signer *eventsig.Signer, databaseURL string,
	stdout io.Writer, usage func(string) error) error {
	switch {
	case len(args) == 0 || len(args) == 1 && args[0] == "public":
		_, err := fmt.Fprintln(stdout, signer.PublicKey())
		return err
	case len(args) == 2 && args[0] == "resign":
		previous, err := eventsig.ParseKeys(owner, args[1])
		if err != nil {
			return usage(fmt.Sprintf("eventkey resign: the old key %s", err))
		}
		db, err := sqldb.Open(ctx, databaseURL)
		if err != nil {
			return err
		}
		defer db.Close()
		if err := Migrate(ctx, db); err != nil {
			return err
		}
		resigned, refused, err := New(db, signer).Resign(ctx, previous)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "signed %d stored events again with key %s\n", resigned, signer.KeyID())
		if refused > 0 {
			fmt.Fprintf(stdout, "left %d events alone: neither the old keys nor this one signed them, so they are not %s's (consumers refuse them)\n", refused, owner)
		}
		return nil
	default:
		return usage("usage: scs-" + owner + " " + EventKeyUsage)
	}
}
