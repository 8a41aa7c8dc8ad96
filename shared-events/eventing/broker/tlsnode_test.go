package broker_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/eventing/broker"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

// tlsListenerConfig is the rabbitmq.conf of a TLS listener as README.md
// documents it ("amqps"), for a node of the test's own.
const tlsListenerConfig = `listeners.tcp = none
listeners.ssl.default = 127.0.0.1:%d
ssl_options.cacertfile = %s
ssl_options.certfile = %s
ssl_options.keyfile = %s
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
ssl_options.versions.1 = tlsv1.3
ssl_options.versions.2 = tlsv1.2
loopback_users = none
`

// A RabbitMQ node of the test's own with a TLS listener configured as README.md
// says accepts amqps:// with the CA that signed its certificate, and nothing
// else: its plain port is off. The machine's own node is never touched.
func TestDialOverTLSToARabbitMQTLSListener(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a RabbitMQ node (several seconds)")
	}
	if _, err := exec.LookPath("rabbitmq-server"); err != nil {
		servicetest.Unavailable(t, "rabbitmq-server (to start a node with a TLS listener)", err)
	}
	ca := newCA(t, "scs-node-ca")
	// The node drops to the rabbitmq user, which must reach its files.
	dir, err := os.MkdirTemp("", "scs-tls-node-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chmod(dir, 0o777))
	cert := ca.serverCert(t)
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	must(err)
	caPEM, err := os.ReadFile(ca.file)
	must(err)
	files := map[string][]byte{
		"ca.pem":     caPEM,
		"server.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}),
		"server.key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}),
		"plugins":    []byte("[].\n"),
	}
	tlsPort, distPort := freePort(t), freePort(t)
	node := "scstls" + strings.ToLower(rand.Text()[:8]) + "@localhost"
	files["rabbitmq.conf"] = fmt.Appendf(nil, tlsListenerConfig, tlsPort,
		filepath.Join(dir, "ca.pem"), filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"))
	// Debian's rabbitmq-env.conf names the machine's node; this one names ours.
	files["env.conf"] = []byte("NODENAME=" + node + "\nERL_EPMD_ADDRESS=127.0.0.1\n")
	for name, b := range files {
		must(os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
	cmd := exec.Command("rabbitmq-server", "-detached")
	cmd.Env = append(os.Environ(),
		"RABBITMQ_CONF_ENV_FILE="+filepath.Join(dir, "env.conf"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(dir, "rabbitmq.conf"),
		"RABBITMQ_NODENAME="+node,
		fmt.Sprintf("RABBITMQ_DIST_PORT=%d", distPort),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(dir, "plugins"),
		"RABBITMQ_PID_FILE="+filepath.Join(dir, "pid"),
	)
	if out, err := cmd.CombinedOutput(); err != nil {
		servicetest.Unavailable(t, "rabbitmq-server (to start a node with a TLS listener)", fmt.Errorf("%v: %s", err, out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("rabbitmqctl", "-n", node, "stop").CombinedOutput(); err != nil {
			t.Errorf("stop the test's node %s: %v: %s", node, err, out)
		}
	})

	url := fmt.Sprintf("amqps://guest:guest@localhost:%d/", tlsPort)
	withCA := url + "?cacertfile=" + filepath.Join(dir, "ca.pem")
	var lastErr error
	servicetest.Eventually(t, 90*time.Second, "the test's node to accept amqps:// on its TLS listener", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := broker.Dial(ctx, withCA, "tls-node-test")
		lastErr = err
		if err != nil {
			return false
		}
		defer conn.Close()
		if v := conn.ConnectionState().Version; v < tls.VersionTLS12 {
			t.Errorf("TLS version %x, want 1.2 or later", v)
		}
		_, err = conn.Channel()
		lastErr = err
		return err == nil
	})
	if lastErr != nil {
		t.Fatal(lastErr)
	}
	if _, err := broker.Dial(context.Background(), url, "tls-node-test"); err == nil ||
		!strings.Contains(err.Error(), "not signed by a CA this system trusts") {
		t.Errorf("Dial without the node's CA = %v, want a refusal of its certificate", err)
	}
}

// freePort is a TCP port on 127.0.0.1 that nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
