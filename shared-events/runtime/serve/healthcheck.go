package serve

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// HealthcheckTimeout bounds one healthcheck: a process that cannot answer
// /healthz within it is as good as down.
const HealthcheckTimeout = 3 * time.Second

// Healthcheck asks the program listening at addr (its HTTP_ADDR, such as
// ":8082") for GET /healthz on the loopback and returns nil if it answers 200.
// It is "scs-<name> healthcheck", the probe of a container image that holds the
// binary alone: no shell, no HTTP client.
func Healthcheck(ctx context.Context, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("healthcheck: HTTP_ADDR %q has no port: %w", addr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, HealthcheckTimeout)
	defer cancel()
	url := "http://" + net.JoinHostPort("127.0.0.1", port) + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %s does not answer: %w", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", url, resp.Status)
	}
	return nil
}
