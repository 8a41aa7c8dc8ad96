package provision

import (
	"fmt"
	"strings"

	"github.com/scs-platform/shared-events/eventing/topology"
)

// SetupScript is the shell script with which compose's broker-setup service
// provisions a broker (deploy/rabbitmq/setup.sh, generated from this): for each
// identity a user named after its system with the password from
// <SYSTEM>_AMQP_PASSWORD (made, or given the new password if it exists), its
// permissions and topic permissions, and every identity's exchange, so that no
// consumer waits for its owner.
//
// It runs rabbitmqctl against the node RABBITMQ_NODENAME names (rabbitmqctl's
// own variable), in the virtual host RABBITMQ_VHOST (default "/"), with user
// names prefixed by USER_PREFIX (empty in compose; tests on a shared broker set
// one). ERLANG_COOKIE_FILE, when set, is the node's cookie file to log in with.
// Passwords reach rabbitmqctl on its standard input, never its command line.
func SetupScript(ids []topology.Identity) string {
	var b strings.Builder
	b.WriteString(`#!/bin/sh
# Generated from topology.Platform (shared-events/eventing/topology/permissions.go) by
# "go run ./cmd/brokersetup" in e2e: do not edit; e2e/compose checks it.
#
# compose's broker-setup service runs this after RabbitMQ is healthy and before
# the systems start: each system's user, its least permissions, and the
# systems' exchanges. Run again with a changed <SYSTEM>_AMQP_PASSWORD, it
# changes that user's password (see README.md, "Broker identities").
set -eu
vhost="${RABBITMQ_VHOST:-/}"
prefix="${USER_PREFIX:-}"
if [ -n "${ERLANG_COOKIE_FILE:-}" ]; then
	# rabbitmqctl logs in to the node with its Erlang cookie, read from
	# $HOME, and refuses a cookie file that others may read.
	HOME=$(mktemp -d)
	export HOME
	install -m 400 "$ERLANG_COOKIE_FILE" "$HOME/.erlang.cookie"
fi

# user NAME PASSWORD makes the user, or changes its password if it exists.
user() {
	if rabbitmqctl -q list_users | cut -f1 | grep -qx "$1"; then
		printf '%s' "$2" | rabbitmqctl -q change_password "$1"
	else
		printf '%s' "$2" | rabbitmqctl -q add_user "$1"
	fi
}
`)
	for _, id := range ids {
		p := id.Permissions()
		env := strings.ToUpper(id.System) + "_AMQP_PASSWORD"
		fmt.Fprintf(&b, "\n# scs-%s\n", id.System)
		fmt.Fprintf(&b, "user \"${prefix}%s\" \"${%s:?set %s (see .env.example)}\"\n", id.System, env, env)
		fmt.Fprintf(&b, "rabbitmqctl -q set_permissions -p \"$vhost\" \"${prefix}%s\" '%s' '%s' '%s'\n", id.System, p.Configure, p.Write, p.Read)
		for _, tp := range p.Topics {
			fmt.Fprintf(&b, "rabbitmqctl -q set_topic_permissions -p \"$vhost\" \"${prefix}%s\" '%s' '%s' '%s'\n", id.System, tp.Exchange, tp.Write, tp.Read)
		}
	}
	bound := topology.DeadLetterBound
	fmt.Fprintf(&b, "\n# Every dead-letter queue bounded (topology.DeadLetterBound).\nrabbitmqctl -q set_policy -p \"$vhost\" --apply-to queues '%s' '%s' '%s'\n", bound.Name, bound.Pattern, bound.Definition)
	b.WriteString("\n# The exchanges, declared as their owners' relays declare them.\nrabbitmqctl -q import_definitions <<EOF\n{\"exchanges\": [\n")
	for i, id := range ids {
		sep := ","
		if i == len(ids)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "  {\"name\": \"%s\", \"vhost\": \"$vhost\", \"type\": \"topic\", \"durable\": true, \"auto_delete\": false, \"internal\": false, \"arguments\": {}}%s\n", topology.Exchange(id.System), sep)
	}
	b.WriteString("]}\nEOF\n")
	return b.String()
}
