package broker_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scs-platform/shared-events/eventing/broker"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

// testCA is a certificate authority of the test's own.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // the CA certificate in PEM
}

func newCA(t *testing.T, name string) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), name+".pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return testCA{cert, key, file}
}

// serverCert is a certificate for 127.0.0.1 and localhost signed by ca.
func (ca testCA) serverCert(t *testing.T) tls.Certificate {
	t.Helper()
	return ca.serverCertFor(t, []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)})
}

// serverCertFor is a certificate for the given names and addresses signed by ca.
func (ca testCA) serverCertFor(t *testing.T, names []string, ips []net.IP) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: names, IPAddresses: ips,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tlsProxy terminates TLS with cert and passes the bytes on to the broker at
// upstream, as a TLS listener of RabbitMQ's own would take them. It returns
// its address and stops when the test ends.
func tlsProxy(t *testing.T, cert tls.Certificate, upstream string) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", upstream)
			if err != nil {
				client.Close()
				continue
			}
			mu.Lock()
			open = append(open, client, server)
			mu.Unlock()
			pipe := func(dst, src net.Conn) {
				_, _ = io.Copy(dst, src)
				dst.Close()
				src.Close()
			}
			wg.Go(func() { pipe(server, client) })
			wg.Go(func() { pipe(client, server) })
		}
	})
	return ln.Addr().String()
}

// amqpsURL is base (the test broker's amqp:// URL) over TLS to addr, trusting
// caFile.
func amqpsURL(t *testing.T, base, addr, caFile string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Scheme, u.Host = "amqps", addr
	u.RawQuery = url.Values{"cacertfile": {caFile}}.Encode()
	return u.String()
}

func TestDialOverTLSTrustsTheGivenCA(t *testing.T) {
	t.Parallel()
	base := servicetest.AMQPURL(t)
	u, _ := url.Parse(base)
	ca := newCA(t, "scs-test-ca")
	addr := tlsProxy(t, ca.serverCert(t), u.Host)

	conn, err := broker.Dial(context.Background(), amqpsURL(t, base, addr, ca.file), "tls-test")
	if err != nil {
		t.Fatalf("Dial over TLS with the broker's CA: %v", err)
	}
	defer conn.Close()
	if !conn.ConnectionState().HandshakeComplete {
		t.Error("the connection is not over TLS")
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("open a channel over TLS: %v", err)
	}
	ch.Close()
}

func TestDialOverTLSRefusesABrokerOfAnotherCA(t *testing.T) {
	t.Parallel()
	base := servicetest.AMQPURL(t)
	u, _ := url.Parse(base)
	addr := tlsProxy(t, newCA(t, "the-brokers-ca").serverCert(t), u.Host)
	other := newCA(t, "another-ca")

	_, err := broker.Dial(context.Background(), amqpsURL(t, base, addr, other.file), "tls-test")
	var ue *broker.UnreachableError
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &ue) || !errors.As(err, &unknown) {
		t.Fatalf("Dial = %v, want an UnreachableError for an unknown authority", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "its TLS certificate is not signed by a CA this system trusts (set AMQP_CA_FILE") {
		t.Errorf("the error does not say plainly what is wrong: %q", msg)
	}
}

// TestDialOverTLSRefusesACertificateForAnotherHost: the right CA signed it, but
// for another broker (a certificate the CA gave some other host, replayed by
// whoever sits on the path).
func TestDialOverTLSRefusesACertificateForAnotherHost(t *testing.T) {
	t.Parallel()
	base := servicetest.AMQPURL(t)
	u, _ := url.Parse(base)
	ca := newCA(t, "scs-test-ca")
	addr := tlsProxy(t, ca.serverCertFor(t, []string{"other-broker.example"}, nil), u.Host)

	_, err := broker.Dial(context.Background(), amqpsURL(t, base, addr, ca.file), "tls-test")
	var invalid x509.HostnameError
	if !errors.As(err, &invalid) {
		t.Fatalf("Dial = %v, want a refusal for a certificate of another host", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "its TLS certificate is not for the host in AMQP_URL") {
		t.Errorf("the error does not say plainly what is wrong: %q", msg)
	}
}

func TestTLSConfigRefusesAFileWithoutCertificates(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := broker.TLSConfig(file); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Errorf("TLSConfig = %v, want a refusal naming the file", err)
	}
	if _, err := broker.TLSConfig(filepath.Join(t.TempDir(), "missing.pem")); err == nil {
		t.Error("TLSConfig accepts a missing file")
	}
}
