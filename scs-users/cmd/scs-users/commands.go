package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/runtime/serve"

	"github.com/scs-platform/scs-users/internal/accounts"
	"github.com/scs-platform/scs-users/internal/config"
	"github.com/scs-platform/scs-users/internal/signing"
)

// adminCommand is "scs-users admin grant|revoke EMAIL": how the first admin
// is made, and how a lost admin account is demoted without the web pages.
// The change is published like any other, by the running system's relay.
func adminCommand(ctx context.Context, cfg config.Config, logger *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) != 2 || (args[0] != "grant" && args[0] != "revoke") {
		return serve.UsageError("usage: scs-users admin grant|revoke EMAIL")
	}
	role := contracts.RoleAdmin
	if args[0] == "revoke" {
		role = contracts.RoleUser
	}
	p, err := build(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer p.db.Close()
	u, err := p.accounts.UserByEmail(ctx, args[1])
	if errors.Is(err, accounts.ErrNotFound) {
		return fmt.Errorf("no account has the email address %q; sign up first", args[1])
	}
	if err != nil {
		return err
	}
	if u.Status != contracts.StatusActive {
		return fmt.Errorf("the account of %s is %s", u.Email, u.Status)
	}
	if err := p.accounts.SetRole(ctx, "", u.ID, role); err != nil {
		if errors.Is(err, accounts.ErrLastAdmin) {
			return fmt.Errorf("%s is the only admin; make someone else admin first", u.Email)
		}
		return err
	}
	fmt.Fprintf(stdout, "%s (%s) is %s now; their sessions switch to it at their next request.\n", u.Email, u.DisplayName, role)
	return nil
}

// keysCommand is "scs-users keys list|rotate|revoke KID".
func keysCommand(ctx context.Context, cfg config.Config, logger *slog.Logger, args []string, stdout io.Writer) error {
	valid := (len(args) == 1 && (args[0] == "list" || args[0] == "rotate")) || (len(args) == 2 && args[0] == "revoke")
	if !valid {
		return serve.UsageError("usage: scs-users keys list|rotate|revoke KID")
	}
	p, err := build(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer p.db.Close()
	switch args[0] {
	case "rotate":
		info, err := p.keys.Rotate(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "New signing key %s: published now, signs from %s (after KEY_PROPAGATION); "+
			"the key before it verifies its last tokens for TOKEN_TTL and a minute more after that.\n",
			info.ID, info.SignsFrom.Format(time.RFC3339))
	case "revoke":
		info, err := p.keys.Revoke(ctx, args[1])
		if errors.Is(err, signing.ErrNoSuchKey) {
			return fmt.Errorf("there is no signing key %q; \"scs-users keys list\" shows them", args[1])
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Key %s is revoked: every token it signed is refused, here now and elsewhere within moments. "+
			"New key %s signs from now on.\n", args[1], info.ID)
	}
	keys, err := p.keys.List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tSTATE\tPUBLISHED\tSIGNS FROM\tVERIFIES UNTIL")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.State, k.NotBefore.Format(time.RFC3339),
			k.SignsFrom.Format(time.RFC3339), k.NotAfter.Format(time.RFC3339))
	}
	return tw.Flush()
}
