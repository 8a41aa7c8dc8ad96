// Package vhost makes RabbitMQ virtual hosts for a test or a benchmark run, so
// that the systems' fixed queue and exchange names (chat.from-users,
// chat.live, ...) never meet those of another test or run. It uses
// rabbitmqctl, so it runs on the broker's machine as a user who may.
package vhost

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
)

// VHost is a virtual host of its own.
type VHost struct {
	Name string
	// URL is the broker's URL with the virtual host in its path.
	URL string
}

// Create makes a fresh virtual host named prefix plus a random part on the
// broker of amqpURL, open to that URL's user.
func Create(ctx context.Context, amqpURL, prefix string) (VHost, error) {
	u, err := url.Parse(amqpURL)
	if err != nil {
		return VHost{}, fmt.Errorf("AMQP URL: %w", err)
	}
	v := VHost{Name: prefix + strings.ToLower(rand.Text()[:12])}
	if err := rabbitmqctl(ctx, "add_vhost", v.Name); err != nil {
		return VHost{}, err
	}
	if err := rabbitmqctl(ctx, "set_permissions", "-p", v.Name, u.User.Username(), ".*", ".*", ".*"); err != nil {
		_ = rabbitmqctl(context.WithoutCancel(ctx), "delete_vhost", v.Name)
		return VHost{}, err
	}
	u.Path = "/" + v.Name
	v.URL = u.String()
	return v, nil
}

// Remove deletes the virtual host with everything in it.
func (v VHost) Remove(ctx context.Context) error {
	return rabbitmqctl(ctx, "delete_vhost", v.Name)
}

func rabbitmqctl(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "rabbitmqctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("rabbitmqctl %s (making a virtual host needs the broker's machine and a user who may): %v: %s",
			strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
