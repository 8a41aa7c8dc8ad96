// Package chaos proves the platform's replication end to end under faults:
// the three real systems as processes, a stream of user changes through the
// front door, and, while it flows, a restart of the broker and a kill -9 of
// every system, after which every replica must equal its source and no event
// may have been given up on.
//
// Restarting RabbitMQ drops the connections of every test on the same broker,
// so the tests run only with SCS_CHAOS=1, alone: "make chaos", the last step
// of "make test".
package chaos
