package topology

import (
	"regexp"
	"strings"
)

// Identity is one system's broker identity: the RabbitMQ user it connects as
// (named like the system), what it owns and what it consumes. Its Permissions
// are worked out here once, for the tests, the e2e virtual hosts, make run and
// compose's generated definitions alike.
type Identity struct {
	// System is the system's name ("chat"): its user, the owner of
	// "<system>.events" and the consumer of "<system>.from-<owner>".
	System string
	// Consumes names the owners whose events the system consumes ("users").
	Consumes []string
	// Fanouts are fanout exchanges of the system's own ("chat.live"), each
	// with a queue per instance named by InstanceQueue.
	Fanouts []string
}

// Platform is every system's identity.
var Platform = []Identity{
	{System: "users", Consumes: []string{"chat"}},
	{System: "chat", Consumes: []string{"users"}, Fanouts: []string{"chat.live"}},
	{System: "cards", Consumes: []string{"users"}},
}

// PlatformIdentity returns the identity of the platform's system name.
func PlatformIdentity(name string) (Identity, bool) {
	for _, id := range Platform {
		if id.System == name {
			return id, true
		}
	}
	return Identity{}, false
}

// InstanceQueue names the queue of one instance on a fanout exchange. Server-named
// queues ("amq.gen-...") would need a permission on every such queue in the
// virtual host, other systems' included; a name under the exchange's needs none.
// suffix must be lower-case letters and digits, as InstanceQueuePattern allows.
func InstanceQueue(fanout, suffix string) string { return fanout + "." + suffix }

// instanceSuffix is what InstanceQueue's suffix may be, as a regular expression.
const instanceSuffix = `[a-z0-9]+`

// Permissions are a user's rights in one virtual host, as rabbitmqctl
// set_permissions and set_topic_permissions take them.
type Permissions struct {
	// Configure, Write and Read are the three regular expressions on resource
	// names (exchanges and queues alike).
	Configure, Write, Read string
	// Topics restrict the routing keys per topic exchange.
	Topics []TopicPermission
}

// TopicPermission restricts the routing keys a user may publish with (Write)
// and bind with (Read) on one topic exchange.
type TopicPermission struct {
	Exchange, Write, Read string
}

// Permissions are the least the system needs, resource by resource:
//
//   - its own exchange: configure (the relay declares it) and write (publish);
//   - its dead-letter exchange: configure, write (the consumer publishes dead
//     letters, a queue naming it as x-dead-letter-exchange needs write on it,
//     replays go through it) and read (its queues are bound to it);
//   - its queues from each owner and their dead-letter queues: configure
//     (declare), write (bind) and read (consume, get);
//   - each owner's exchange: read (bind its queue to it), nothing else: the
//     owner declares it, and a consumer only checks passively that it exists;
//   - its fanouts and their instance queues: configure, write and read.
//
// Topic permissions limit routing keys to the owner's own types ("users.…")
// on the system's exchange and on every exchange it consumes.
func (id Identity) Permissions() Permissions {
	s := regexp.QuoteMeta(id.System)
	var owners []string
	for _, o := range id.Consumes {
		owners = append(owners, regexp.QuoteMeta(o))
	}
	own := []string{s + `\.events`, s + `\.dead-letters`}
	var shared []string
	if len(owners) > 0 {
		shared = []string{s + `\.dead-letters`, s + `\.from-(` + strings.Join(owners, "|") + `)(\.dead)?`}
		own = append(own, shared[1])
	}
	for _, f := range id.Fanouts {
		f = regexp.QuoteMeta(f)
		own = append(own, f, f+`\.`+instanceSuffix)
		shared = append(shared, f, f+`\.`+instanceSuffix)
	}
	var read []string
	for _, o := range owners {
		read = append(read, o+`\.events`)
	}
	read = append(read, shared...)
	p := Permissions{
		Configure: anchored(own),
		Write:     anchored(own),
		Read:      anchored(read),
		Topics:    []TopicPermission{topic(id.System)},
	}
	for _, o := range id.Consumes {
		p.Topics = append(p.Topics, topic(o))
	}
	return p
}

// topic limits the routing keys on owner's exchange to owner's types, both ways.
func topic(owner string) TopicPermission {
	prefix := "^" + regexp.QuoteMeta(owner) + `\.`
	return TopicPermission{Exchange: Exchange(owner), Write: prefix, Read: prefix}
}

func anchored(alternatives []string) string {
	if len(alternatives) == 0 {
		// Matches no name: RabbitMQ treats an empty pattern the same way.
		return "^$"
	}
	return "^(" + strings.Join(alternatives, "|") + ")$"
}
