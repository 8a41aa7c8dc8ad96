// Package vhost makes RabbitMQ virtual hosts for a test or a benchmark run, so
// that the systems' fixed queue and exchange names (chat.from-users,
// chat.live, ...) never meet those of another test or run. Each system gets a
// user of its own there with the least permissions of its topology.Identity,
// as in production. It uses rabbitmqctl, so it runs on the broker's machine as a
// user who may.
package vhost

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/scs-platform/shared-events/eventing/provision"
)

// VHost is a virtual host of its own.
type VHost struct {
	Name string
	// URL is the broker's URL with the virtual host in its path, for the
	// test's own user, who may do anything there (inspect queues, clean up).
	URL string
	// Systems are each system's URL by name ("users", "chat", "cards"): its own
	// user, with the permissions of its topology.Identity only.
	Systems map[string]string

	users []provision.User
}

// Create makes a fresh virtual host named prefix plus a random part on the
// broker of amqpURL, open to that URL's user, and a user with a random name and
// password for each system of topology.Platform. It declares the systems'
// exchanges, as compose's broker setup does, so that no consumer waits for its
// owner to start.
func Create(ctx context.Context, amqpURL, prefix string) (VHost, error) {
	u, err := url.Parse(amqpURL)
	if err != nil {
		return VHost{}, fmt.Errorf("AMQP URL: %w", err)
	}
	v := VHost{Name: prefix + strings.ToLower(rand.Text()[:12]), Systems: map[string]string{}}
	if err := provision.AddVHost(ctx, v.Name); err != nil {
		return VHost{}, err
	}
	if v.users, err = provision.Platform(ctx, amqpURL, v.Name); err != nil {
		return VHost{}, errors.Join(err, provision.DeleteVHost(context.WithoutCancel(ctx), v.Name))
	}
	u.Path = "/" + v.Name
	v.URL = u.String()
	for _, su := range v.users {
		v.Systems[su.Identity.System] = su.URL
	}
	return v, nil
}

// Remove deletes the virtual host with everything in it, and the systems' users.
func (v VHost) Remove(ctx context.Context) error {
	return errors.Join(provision.DeleteVHost(ctx, v.Name), provision.DeleteUsers(ctx, v.users))
}
