#!/bin/sh
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

# scs-users
user "${prefix}users" "${USERS_AMQP_PASSWORD:?set USERS_AMQP_PASSWORD (see .env.example)}"
rabbitmqctl -q set_permissions -p "$vhost" "${prefix}users" '^(users\.events|users\.dead-letters|users\.from-(chat)(\.dead)?)$' '^(users\.events|users\.dead-letters|users\.from-(chat)(\.dead)?)$' '^(chat\.events|users\.dead-letters|users\.from-(chat)(\.dead)?)$'
rabbitmqctl -q set_topic_permissions -p "$vhost" "${prefix}users" 'users.events' '^users\.' '^users\.'
rabbitmqctl -q set_topic_permissions -p "$vhost" "${prefix}users" 'chat.events' '^chat\.' '^chat\.'

# scs-chat
user "${prefix}chat" "${CHAT_AMQP_PASSWORD:?set CHAT_AMQP_PASSWORD (see .env.example)}"
rabbitmqctl -q set_permissions -p "$vhost" "${prefix}chat" '^(chat\.events|chat\.dead-letters|chat\.from-(users)(\.dead)?|chat\.live|chat\.live\.[a-z0-9]+)$' '^(chat\.events|chat\.dead-letters|chat\.from-(users)(\.dead)?|chat\.live|chat\.live\.[a-z0-9]+)$' '^(users\.events|chat\.dead-letters|chat\.from-(users)(\.dead)?|chat\.live|chat\.live\.[a-z0-9]+)$'
rabbitmqctl -q set_topic_permissions -p "$vhost" "${prefix}chat" 'chat.events' '^chat\.' '^chat\.'
rabbitmqctl -q set_topic_permissions -p "$vhost" "${prefix}chat" 'users.events' '^users\.' '^users\.'

# scs-cards
user "${prefix}cards" "${CARDS_AMQP_PASSWORD:?set CARDS_AMQP_PASSWORD (see .env.example)}"
rabbitmqctl -q set_permissions -p "$vhost" "${prefix}cards" '^(cards\.events|cards\.dead-letters|cards\.from-(users)(\.dead)?)$' '^(cards\.events|cards\.dead-letters|cards\.from-(users)(\.dead)?)$' '^(users\.events|cards\.dead-letters|cards\.from-(users)(\.dead)?)$'
rabbitmqctl -q set_topic_permissions -p "$vhost" "${prefix}cards" 'cards.events' '^cards\.' '^cards\.'
rabbitmqctl -q set_topic_permissions -p "$vhost" "${prefix}cards" 'users.events' '^users\.' '^users\.'

# Every dead-letter queue bounded (topology.DeadLetterBound).
rabbitmqctl -q set_policy -p "$vhost" --apply-to queues 'scs-dead-letters-bounded' '\.dead$' '{"max-length":100000,"overflow":"drop-head"}'

# The exchanges, declared as their owners' relays declare them.
rabbitmqctl -q import_definitions <<EOF
{"exchanges": [
  {"name": "users.events", "vhost": "$vhost", "type": "topic", "durable": true, "auto_delete": false, "internal": false, "arguments": {}},
  {"name": "chat.events", "vhost": "$vhost", "type": "topic", "durable": true, "auto_delete": false, "internal": false, "arguments": {}},
  {"name": "cards.events", "vhost": "$vhost", "type": "topic", "durable": true, "auto_delete": false, "internal": false, "arguments": {}}
]}
EOF
