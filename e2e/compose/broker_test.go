package compose

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scs-platform/shared-events/eventing/provision"
	"github.com/scs-platform/shared-events/eventing/topology"
	"github.com/scs-platform/shared-events/testkit/servicetest"
)

const setupScript = "deploy/rabbitmq/setup.sh"

// compose provisions the broker with the script generated from the systems'
// identities, the same ones the tests, the e2e platform and make run grant.
func TestBrokerSetupScriptIsGeneratedFromTheIdentities(t *testing.T) {
	if readFile(t, setupScript) != provision.SetupScript(topology.Platform) {
		t.Errorf("%s is not what topology.Platform generates; run: cd e2e && go run ./cmd/brokersetup > ../%s", setupScript, setupScript)
	}
}

// broker-setup runs that script against compose's RabbitMQ, logged in with the
// node's cookie from the broker's volume, with each system's password from the
// environment.
func TestComposeRunsTheBrokerSetup(t *testing.T) {
	p := mustLoad(t)
	s := p.Services["broker-setup"]
	if got := strings.Join(s.Entrypoint, " "); got != "/bin/sh /setup/setup.sh" {
		t.Errorf("broker-setup runs %q, want /bin/sh /setup/setup.sh", got)
	}
	mounts := map[string]string{}
	for _, v := range s.Volumes {
		mounts[v.Target] = v.Source
		if !v.ReadOnly {
			t.Errorf("broker-setup mounts %s writable; it only reads", v.Target)
		}
	}
	if got := mounts["/setup/setup.sh"]; got != filepath.Join(root, setupScript) {
		t.Errorf("broker-setup's /setup/setup.sh is %q, want %s", got, setupScript)
	}
	env := func(name string) string {
		if v := s.Environment[name]; v != nil {
			return *v
		}
		return ""
	}
	cookie := env("ERLANG_COOKIE_FILE")
	if dir := filepath.Dir(cookie); mounts[dir] != "rabbitmq-data" || filepath.Base(cookie) != ".erlang.cookie" {
		t.Errorf("ERLANG_COOKIE_FILE %q is not the .erlang.cookie of the broker's volume rabbitmq-data (mounts: %v)", cookie, mounts)
	}
	if got, want := env("RABBITMQ_NODENAME"), "rabbit@"+p.Services["rabbitmq"].Hostname; got != want {
		t.Errorf("broker-setup's RABBITMQ_NODENAME = %q, want %q (the broker's hostname)", got, want)
	}
	for _, id := range topology.Platform {
		name := strings.ToUpper(id.System) + "_AMQP_PASSWORD"
		if env(name) != secrets[name] {
			t.Errorf("broker-setup's %s is not the environment's", name)
		}
	}
	if _, on := s.Networks["broker"]; !on {
		t.Error("broker-setup is not on the broker's network")
	}
}

// The committed script, run against the real broker in a virtual host of the
// test's own (with prefixed user names, the broker being shared), grants each
// user exactly its identity's permissions, declares the exchanges, and, run
// again with a new password, rotates it.
func TestBrokerSetupProvisionsTheIdentitiesOnARealBroker(t *testing.T) {
	base := servicetest.BrokerURL(t)
	ctx := context.Background()
	if err := provision.Available(ctx); err != nil {
		servicetest.Unavailable(t, "rabbitmqctl", err)
	}
	vhost := "setup-" + strings.ToLower(rand.Text()[:12])
	prefix := vhost + "-"
	if err := provision.AddVHost(ctx, vhost); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, id := range topology.Platform {
			_ = provision.DeleteUser(context.Background(), prefix+id.System)
		}
		if err := provision.DeleteVHost(context.Background(), vhost); err != nil {
			t.Error(err)
		}
	})
	passwords := map[string]string{}
	run := func() {
		t.Helper()
		cmd := exec.Command("sh", filepath.Join(root, setupScript))
		cmd.Env = append(os.Environ(), "RABBITMQ_VHOST="+vhost, "USER_PREFIX="+prefix)
		for _, id := range topology.Platform {
			cmd.Env = append(cmd.Env, strings.ToUpper(id.System)+"_AMQP_PASSWORD="+passwords[id.System])
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", setupScript, err, out)
		}
	}
	dial := func(system string) error {
		u, _ := url.Parse(base)
		u.User = url.UserPassword(prefix+system, passwords[system])
		u.Path = "/" + vhost
		conn, err := amqp.Dial(u.String())
		if err == nil {
			conn.Close()
		}
		return err
	}
	for _, id := range topology.Platform {
		passwords[id.System] = rand.Text()
	}
	run()

	perms := rows(t, "list_permissions", "-p", vhost)
	topics := rows(t, "list_topic_permissions", "-p", vhost)
	for _, id := range topology.Platform {
		want := id.Permissions()
		user := prefix + id.System
		if got, exp := perms[user], [][]string{{want.Configure, want.Write, want.Read}}; !slices.EqualFunc(got, exp, slices.Equal) {
			t.Errorf("%s's permissions are %q, want %q", user, got, exp)
		}
		var exp [][]string
		for _, tp := range want.Topics {
			exp = append(exp, []string{tp.Exchange, tp.Write, tp.Read})
		}
		got := topics[user]
		slices.SortFunc(got, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
		slices.SortFunc(exp, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
		if !slices.EqualFunc(got, exp, slices.Equal) {
			t.Errorf("%s's topic permissions are %q, want %q", user, got, exp)
		}
		if err := dial(id.System); err != nil {
			t.Errorf("%s cannot log in with its password: %v", user, err)
		}
	}
	exchanges := rows(t, "list_exchanges", "-p", vhost, "name", "type")
	for _, id := range topology.Platform {
		if got := exchanges[topology.Exchange(id.System)]; len(got) != 1 || got[0][0] != "topic" {
			t.Errorf("exchange %s: %v, want one topic exchange", topology.Exchange(id.System), got)
		}
	}

	// rabbitmqctl list_policies puts the vhost first: name, pattern, apply-to, definition, priority follow.
	bound := topology.DeadLetterBound
	if got := rows(t, "list_policies", "-p", vhost)[vhost]; len(got) != 1 || len(got[0]) < 4 ||
		got[0][0] != bound.Name || got[0][1] != bound.Pattern || got[0][3] != bound.Definition {
		t.Errorf("the vhost's policies are %q, want %s on %s with %s", got, bound.Name, bound.Pattern, bound.Definition)
	}

	old := passwords["chat"]
	passwords["chat"] = rand.Text()
	run()
	if err := dial("chat"); err != nil {
		t.Errorf("chat cannot log in with its new password: %v", err)
	}
	passwords["chat"] = old
	if err := dial("chat"); err == nil {
		t.Error("chat still logs in with its old password")
	}
}

// rows runs rabbitmqctl with args and returns its tab-separated rows by their
// first column.
func rows(t *testing.T, args ...string) map[string][][]string {
	t.Helper()
	out, err := exec.Command("rabbitmqctl", append([]string{"-q", "--no-table-headers"}, args...)...).Output()
	if err != nil {
		t.Fatalf("rabbitmqctl %s: %v", strings.Join(args, " "), err)
	}
	m := map[string][][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		m[f[0]] = append(m[f[0]], f[1:])
	}
	return m
}

// README.md's "Broker identities" shows the patterns the identities grant.
func TestReadmeShowsTheIdentitiesPermissions(t *testing.T) {
	readme := readFile(t, "README.md")
	for _, id := range topology.Platform {
		p := id.Permissions()
		for _, pattern := range []string{p.Configure, p.Write, p.Read} {
			if !strings.Contains(readme, pattern) {
				t.Errorf("README.md does not show %s's pattern %s", id.System, pattern)
			}
		}
	}
}
