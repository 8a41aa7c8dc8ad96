// Package provision makes RabbitMQ virtual hosts and the systems' users in them
// with rabbitmqctl, granting each user the permissions of its
// topology.Identity. It runs on the broker's machine as a user who may (root,
// or one holding the node's Erlang cookie): tests, make run and benchmarks use
// it; compose provisions through deploy/rabbitmq (held to the same identities by
// e2e/compose).
package provision

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"strings"

	"github.com/scs-platform/shared-events/eventing/broker"
	"github.com/scs-platform/shared-events/eventing/topology"
)

// Available says why rabbitmqctl cannot be used here, or nil if it can: it is on
// the PATH and reaches the local node (which needs the node's Erlang cookie).
func Available(ctx context.Context) error {
	if _, err := exec.LookPath("rabbitmqctl"); err != nil {
		return err
	}
	return rabbitmqctl(ctx, nil, "-q", "status")
}

// AddVHost makes the virtual host name.
func AddVHost(ctx context.Context, name string) error {
	return rabbitmqctl(ctx, nil, "add_vhost", name)
}

// AddVHostFor makes the virtual host name with every permission in it for
// user, in one rabbitmqctl call (import_definitions) rather than AddVHost's
// and FullAccess's two: each test that uses the broker makes one (see
// servicetest.AMQPURL), and a call starts an Erlang VM.
func AddVHostFor(ctx context.Context, name, user string) error {
	defs, err := json.Marshal(map[string]any{
		"vhosts":      []map[string]string{{"name": name}},
		"permissions": []map[string]string{{"user": user, "vhost": name, "configure": ".*", "write": ".*", "read": ".*"}},
	})
	if err != nil {
		return fmt.Errorf("provision: definitions of %s: %w", name, err)
	}
	return rabbitmqctl(ctx, strings.NewReader(string(defs)), "import_definitions", "--format", "json")
}

// DeleteVHost deletes the virtual host name with everything in it.
func DeleteVHost(ctx context.Context, name string) error {
	return rabbitmqctl(ctx, nil, "delete_vhost", name)
}

// AddUser makes the user name with password. The password goes through
// rabbitmqctl's standard input, never its command line, which any local user can
// read.
func AddUser(ctx context.Context, name, password string) error {
	return rabbitmqctl(ctx, strings.NewReader(password), "add_user", name)
}

// SetUser makes the user name with password, or gives the existing user name
// that password.
func SetUser(ctx context.Context, name, password string) error {
	err := AddUser(ctx, name, password)
	if err != nil && strings.Contains(err.Error(), "already exists") {
		return rabbitmqctl(ctx, strings.NewReader(password), "change_password", name)
	}
	return err
}

// EnsureVHost makes the virtual host name unless it exists.
func EnsureVHost(ctx context.Context, name string) error {
	err := AddVHost(ctx, name)
	if err != nil && strings.Contains(err.Error(), "already exists") {
		return nil
	}
	return err
}

// DeleteUser deletes the user name.
func DeleteUser(ctx context.Context, name string) error {
	return rabbitmqctl(ctx, nil, "delete_user", name)
}

// FullAccess lets user configure, write and read everything in vhost, as an
// administrator or a test that inspects queues may.
func FullAccess(ctx context.Context, vhost, user string) error {
	return rabbitmqctl(ctx, nil, "set_permissions", "-p", vhost, user, ".*", ".*", ".*")
}

// Grant gives user p in vhost: the three patterns and every topic permission.
func Grant(ctx context.Context, vhost, user string, p topology.Permissions) error {
	if err := rabbitmqctl(ctx, nil, "set_permissions", "-p", vhost, user, p.Configure, p.Write, p.Read); err != nil {
		return err
	}
	for _, tp := range p.Topics {
		if err := rabbitmqctl(ctx, nil, "set_topic_permissions", "-p", vhost, user, tp.Exchange, tp.Write, tp.Read); err != nil {
			return err
		}
	}
	return nil
}

// BoundDeadLetters sets topology.DeadLetterBound on vhost.
func BoundDeadLetters(ctx context.Context, vhost string) error {
	b := topology.DeadLetterBound
	return rabbitmqctl(ctx, nil, "set_policy", "-p", vhost, "--apply-to", "queues", b.Name, b.Pattern, b.Definition)
}

// User is a system's user made by Users.
type User struct {
	Identity topology.Identity
	Name     string
	Password string
	// URL is the broker's URL with this user and the virtual host.
	URL string
}

// Users makes a user for each identity, named after its system with a random
// suffix (so that runs side by side on one broker never share one) and a random
// password, and grants it the identity's permissions in vhost. baseURL is the
// broker's URL; each user's URL is it with the user, password and vhost
// replaced. On an error the users made so far are deleted.
func Users(ctx context.Context, baseURL, vhost string, ids []topology.Identity) ([]User, error) {
	base, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("provision: AMQP URL: %w", err)
	}
	var users []User
	for _, id := range ids {
		u := User{Identity: id, Name: id.System + "-" + strings.ToLower(rand.Text()[:10]), Password: rand.Text()}
		if err := AddUser(ctx, u.Name, u.Password); err != nil {
			return nil, errors.Join(err, DeleteUsers(context.WithoutCancel(ctx), users))
		}
		users = append(users, u)
		if err := Grant(ctx, vhost, u.Name, id.Permissions()); err != nil {
			return nil, errors.Join(err, DeleteUsers(context.WithoutCancel(ctx), users))
		}
		v := *base
		v.User = url.UserPassword(u.Name, u.Password)
		v.Path, v.RawPath = "/"+vhost, "/"+url.PathEscape(vhost)
		users[len(users)-1].URL = v.String()
	}
	return users, nil
}

// DeclareExchanges declares each identity's exchange on the broker of amqpURL
// (a user who may configure them), so that a consumer that starts before the
// exchange's owner does not wait for it. compose's broker setup does the same.
func DeclareExchanges(ctx context.Context, amqpURL string, ids []topology.Identity) error {
	conn, err := broker.Dial(ctx, amqpURL, "provision")
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("provision: open channel: %w", err)
	}
	for _, id := range ids {
		if err := topology.DeclareExchange(ch, id.System); err != nil {
			return err
		}
	}
	return nil
}

// Platform provisions the whole platform in the existing vhost, as compose's
// broker setup does: amqpURL's user may do anything there (an operator, a
// test that inspects queues), the dead-letter queues are bounded, each system
// of topology.Platform gets a user of its own (see Users), and the systems'
// exchanges exist, so that no consumer waits for its owner to start. On an
// error the users made are deleted.
func Platform(ctx context.Context, amqpURL, vhost string) ([]User, error) {
	u, err := url.Parse(amqpURL)
	if err != nil {
		return nil, fmt.Errorf("provision: AMQP URL: %w", err)
	}
	if err := FullAccess(ctx, vhost, u.User.Username()); err != nil {
		return nil, err
	}
	if err := BoundDeadLetters(ctx, vhost); err != nil {
		return nil, err
	}
	users, err := Users(ctx, amqpURL, vhost, topology.Platform)
	if err != nil {
		return nil, err
	}
	u.Path, u.RawPath = "/"+vhost, "/"+url.PathEscape(vhost)
	if err := DeclareExchanges(ctx, u.String(), topology.Platform); err != nil {
		return nil, errors.Join(err, DeleteUsers(context.WithoutCancel(ctx), users))
	}
	return users, nil
}

// DeleteUsers deletes users, all of them even when one fails.
func DeleteUsers(ctx context.Context, users []User) error {
	var errs []error
	for _, u := range users {
		errs = append(errs, DeleteUser(ctx, u.Name))
	}
	return errors.Join(errs...)
}

func rabbitmqctl(ctx context.Context, stdin *strings.Reader, args ...string) error {
	cmd := exec.CommandContext(ctx, "rabbitmqctl", args...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("rabbitmqctl %s (it needs the broker's machine and a user who may): %v: %s",
			strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
