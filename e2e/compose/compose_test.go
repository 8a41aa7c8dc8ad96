// Package compose checks the deployment as it ships: compose.yaml, read by
// compose-go as docker compose reads it, the systems' Dockerfiles, and
// deploy/Caddyfile, run by the real Caddy. None of it needs a Docker engine.
package compose

import (
	"context"
	"maps"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/types"
)

// root is the repository's root: the tests run in e2e/compose.
var root = func() string {
	r, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	return r
}()

// systems are the three systems by service name, with the port each listens
// on by default (its HTTP_ADDR).
var systems = map[string]string{"users": "8081", "chat": "8082", "cards": "8083"}

// secrets are the variables compose.yaml must take from the environment, each
// set here to a value that no file in the repository holds.
var secrets = map[string]string{
	"RABBITMQ_PASSWORD":   "test-rabbitmq-password-5f1c",
	"USERS_DB_PASSWORD":   "test-users-db-password-8a2e",
	"CHAT_DB_PASSWORD":    "test-chat-db-password-93bd",
	"CARDS_DB_PASSWORD":   "test-cards-db-password-4c07",
	"KEY_ENCRYPTION_KEY":  "dGVzdC1rZXktZW5jcnlwdGlvbi1rZXktb2YtMzItYnl0ZXM=",
	"CHAT_FEED_TOKEN":     "test-chat-feed-token-71e4",
	"CARDS_FEED_TOKEN":    "test-cards-feed-token-0d9a",
	"TERMINAL_TOKEN":      "test-terminal-token-e6b3",
	"USERS_AMQP_PASSWORD": "test-users-amqp-password-2b90",
	"CHAT_AMQP_PASSWORD":  "test-chat-amqp-password-c41d",
	"CARDS_AMQP_PASSWORD": "test-cards-amqp-password-77fa",
	// Each system's event signing key, and the public halves the consumers pin.
	"USERS_EVENT_SIGNING_KEY": "dGVzdC11c2Vycy1ldmVudC1zaWduaW5nLWtleS0zMmI=",
	"CHAT_EVENT_SIGNING_KEY":  "dGVzdC1jaGF0LWV2ZW50LXNpZ25pbmcta2V5LW9mLTMy",
	"CARDS_EVENT_SIGNING_KEY": "dGVzdC1jYXJkcy1ldmVudC1zaWduaW5nLWtleS0zMmI=",
	"USERS_EVENT_KEYS":        "test-users-public-key-6d1e",
	"CHAT_EVENT_KEYS":         "test-chat-public-key-1f3a",
}

// load reads compose.yaml as "docker compose" does, with env as the whole
// environment (neither the test's nor a developer's .env), and the services
// selected as "docker compose up services..." selects them.
func load(t *testing.T, env map[string]string, services ...string) (*types.Project, error) {
	t.Helper()
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "compose.yaml")},
		cli.WithWorkingDirectory(root), cli.WithEnv(list), cli.WithSelectedServices(services...))
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

func mustLoad(t *testing.T, services ...string) *types.Project {
	t.Helper()
	p, err := load(t, secrets, services...)
	if err != nil {
		t.Fatalf("load compose.yaml with every secret set: %v", err)
	}
	return p
}

func TestComposeHasThePlatformsServices(t *testing.T) {
	p := mustLoad(t)
	want := []string{"broker-setup", "cards", "cards-db", "chat", "chat-db", "frontdoor", "rabbitmq", "users", "users-db"}
	if got := slices.Sorted(maps.Keys(p.Services)); !slices.Equal(got, want) {
		t.Errorf("services = %v, want %v", got, want)
	}
	images := map[string]string{
		"rabbitmq": "rabbitmq:4-management", "broker-setup": "rabbitmq:4-management", "frontdoor": "caddy:2",
		"users-db": "postgres:17", "chat-db": "postgres:17", "cards-db": "postgres:17",
	}
	for name, image := range images {
		if got := p.Services[name].Image; got != image {
			t.Errorf("%s runs image %q, want %q", name, got, image)
		}
	}
}

func TestComposeEveryServiceHasAHealthcheck(t *testing.T) {
	p := mustLoad(t)
	for name, s := range p.Services {
		if name == "broker-setup" {
			continue // a one-shot: its exit status is its health
		}
		hc := s.HealthCheck
		if hc == nil || hc.Disable || len(hc.Test) < 2 || (hc.Test[0] != "CMD" && hc.Test[0] != "CMD-SHELL") {
			t.Errorf("%s has no healthcheck that runs a command: %+v", name, hc)
		}
	}
	// The commands that only exist in a system's image, or in the front
	// door's, must ask what the image and deploy/Caddyfile serve.
	for name := range systems {
		test := strings.Join(p.Services[name].HealthCheck.Test, " ")
		if want := "CMD /usr/local/bin/scs-" + name + " healthcheck"; test != want {
			t.Errorf("%s's healthcheck is %q, want %q: the binary's own probe of its /healthz", name, test, want)
		}
	}
	caddyfile := readFile(t, "deploy/Caddyfile")
	health := placeholderDefault(t, caddyfile, "FRONT_DOOR_HEALTH_PORT")
	if test := strings.Join(p.Services["frontdoor"].HealthCheck.Test, " "); !strings.Contains(test, "http://127.0.0.1:"+health+"/") {
		t.Errorf("the front door's healthcheck %q does not ask deploy/Caddyfile's health port %s", test, health)
	}
}

func TestComposeDependsOnHealthyServices(t *testing.T) {
	p := mustLoad(t)
	for name, s := range p.Services {
		for dep, d := range s.DependsOn {
			if d.Condition != types.ServiceConditionHealthy && d.Condition != types.ServiceConditionCompletedSuccessfully {
				t.Errorf("%s depends on %s with condition %q, want %s", name, dep, d.Condition, types.ServiceConditionHealthy)
			}
		}
	}
	// Each system waits for its own database and its broker user (and so the
	// broker), and for nothing else: a system runs (and starts) while the
	// others are down.
	for name := range systems {
		got := slices.Sorted(maps.Keys(p.Services[name].DependsOn))
		if want := slices.Sorted(slices.Values([]string{name + "-db", "broker-setup"})); !slices.Equal(got, want) {
			t.Errorf("%s depends on %v, want %v", name, got, want)
		}
		if c := p.Services[name].DependsOn["broker-setup"].Condition; c != types.ServiceConditionCompletedSuccessfully {
			t.Errorf("%s waits for broker-setup with condition %q, want %s", name, c, types.ServiceConditionCompletedSuccessfully)
		}
	}
	if c := p.Services["broker-setup"].DependsOn["rabbitmq"].Condition; c != types.ServiceConditionHealthy {
		t.Errorf("broker-setup waits for rabbitmq with condition %q, want %s", c, types.ServiceConditionHealthy)
	}
	if deps := p.Services["frontdoor"].DependsOn; len(deps) != 0 {
		t.Errorf("the front door depends on %v; it must start without the systems (it answers 502 for one that is down)", slices.Sorted(maps.Keys(deps)))
	}
}

func TestComposePublishesOnlyTheFrontDoor(t *testing.T) {
	p := mustLoad(t)
	for name, s := range p.Services {
		for _, port := range s.Ports {
			switch {
			case name == "frontdoor" && port.Target == 8080 && port.Published == "8080" && port.HostIP == "":
			case name == "rabbitmq" && port.Target == 15672 && port.HostIP == "127.0.0.1":
				// The management UI, on the host's loopback only.
			default:
				t.Errorf("%s publishes %+v; only the front door (8080) and the management UI (127.0.0.1) may", name, port)
			}
		}
	}
	if n := len(p.Services["frontdoor"].Ports); n != 1 {
		t.Errorf("the front door publishes %d ports, want one (8080)", n)
	}
	caddyfile := readFile(t, "deploy/Caddyfile")
	if addr := placeholderDefault(t, caddyfile, "FRONT_DOOR_ADDR"); addr != ":8080" {
		t.Errorf("deploy/Caddyfile listens on %q by default, but compose publishes the container's 8080", addr)
	}
}

func TestComposeDatabasesHaveNamedVolumes(t *testing.T) {
	p := mustLoad(t)
	seen := map[string]string{}
	for _, name := range []string{"users-db", "chat-db", "cards-db", "rabbitmq"} {
		target := "/var/lib/postgresql/data"
		if name == "rabbitmq" {
			target = "/var/lib/rabbitmq"
		}
		var found bool
		for _, v := range p.Services[name].Volumes {
			if v.Target != target {
				continue
			}
			found = true
			if v.Type != types.VolumeTypeVolume {
				t.Errorf("%s keeps %s on a %s, want a named volume", name, target, v.Type)
			}
			if _, declared := p.Volumes[v.Source]; !declared {
				t.Errorf("%s's volume %q is not declared under volumes:", name, v.Source)
			}
			if other, shared := seen[v.Source]; shared {
				t.Errorf("%s and %s share the volume %q", name, other, v.Source)
			}
			seen[v.Source] = name
		}
		if !found {
			t.Errorf("%s keeps nothing at %s", name, target)
		}
	}
}

// A database is reachable from its own system only, as docs/architecture.md has
// it (systems never read each other's database), and the front door reaches
// the systems, not their databases or the broker.
func TestComposeNetworksKeepEachDatabaseToItsSystem(t *testing.T) {
	p := mustLoad(t)
	members := map[string][]string{}
	for name, s := range p.Services {
		for n := range s.Networks {
			members[n] = append(members[n], name)
		}
	}
	for name := range systems {
		db := name + "-db"
		for n := range p.Services[db].Networks {
			if got := slices.Sorted(slices.Values(members[n])); !slices.Equal(got, []string{name, db}) {
				t.Errorf("%s's network %s also reaches %v, want only %s", db, n, got, name)
			}
		}
	}
	for n := range p.Services["frontdoor"].Networks {
		for _, m := range members[n] {
			if _, isSystem := systems[m]; !isSystem && m != "frontdoor" {
				t.Errorf("the front door's network %s reaches %s", n, m)
			}
		}
	}
}

// The systems get the runtime contract of docs/architecture.md, pointed at their
// own database and the broker of compose, with the secrets of the
// environment.
func TestComposeSystemsEnvironment(t *testing.T) {
	p := mustLoad(t)
	env := func(service, name string) string {
		v := p.Services[service].Environment[name]
		if v == nil {
			t.Errorf("%s: %s is not set", service, name)
			return ""
		}
		return *v
	}
	for name := range systems {
		db, err := url.Parse(env(name, "DATABASE_URL"))
		if err != nil || db.Scheme != "postgres" || db.Hostname() != name+"-db" || db.Path != "/"+name {
			t.Errorf("%s: DATABASE_URL %q is not its own PostgreSQL (%s-db)", name, env(name, "DATABASE_URL"), name)
		} else if pw, _ := db.User.Password(); pw != secrets[strings.ToUpper(name)+"_DB_PASSWORD"] {
			t.Errorf("%s: DATABASE_URL does not carry %s_DB_PASSWORD", name, strings.ToUpper(name))
		}
		if dbEnv := p.Services[name+"-db"].Environment; dbEnv["POSTGRES_USER"] == nil || *dbEnv["POSTGRES_USER"] != db.User.Username() {
			t.Errorf("%s: DATABASE_URL's user %q is not %s-db's POSTGRES_USER", name, db.User.Username(), name)
		}
		amqp, err := url.Parse(env(name, "AMQP_URL"))
		if pw, _ := amqp.User.Password(); err != nil || amqp.Scheme != "amqp" || amqp.Hostname() != "rabbitmq" ||
			amqp.User.Username() != name || pw != secrets[strings.ToUpper(name)+"_AMQP_PASSWORD"] {
			t.Errorf("%s: AMQP_URL %q is not compose's RabbitMQ as the user %s with %s_AMQP_PASSWORD", name, amqp.Redacted(), name, strings.ToUpper(name))
		}
		for variable, want := range map[string]string{
			"PUBLIC_URL": "http://localhost:8080", "LOG_FORMAT": "json", "OTEL_TRACES_EXPORTER": "none",
		} {
			if got := env(name, variable); got != want {
				t.Errorf("%s: %s = %q, want %q", name, variable, got, want)
			}
		}
		if _, set := p.Services[name].Environment["HTTP_ADDR"]; set {
			t.Errorf("%s: HTTP_ADDR is set; the image's EXPOSE and healthcheck assume the default port %s", name, systems[name])
		}
	}
	tokens := strings.Split(env("users", "FEED_TOKENS"), ",")
	for _, name := range []string{"chat", "cards"} {
		if got := env(name, "USERS_FEED_URL"); got != "http://users:8081/users/internal/events/feed" {
			t.Errorf("%s: USERS_FEED_URL = %q, want scs-users' feed inside compose", name, got)
		}
		token := env(name, "USERS_FEED_TOKEN")
		if token != secrets[strings.ToUpper(name)+"_FEED_TOKEN"] || !slices.Contains(tokens, token) {
			t.Errorf("%s: USERS_FEED_TOKEN is not its own %s_FEED_TOKEN among scs-users' FEED_TOKENS", name, strings.ToUpper(name))
		}
	}
	if len(tokens) != 2 || tokens[0] == tokens[1] {
		t.Errorf("scs-users' FEED_TOKENS hold %d tokens, want one per consuming system", len(tokens))
	}
	if env("users", "KEY_ENCRYPTION_KEY") != secrets["KEY_ENCRYPTION_KEY"] {
		t.Error("users: KEY_ENCRYPTION_KEY does not come from the environment")
	}
	if env("cards", "TERMINAL_TOKEN") != secrets["TERMINAL_TOKEN"] {
		t.Error("cards: TERMINAL_TOKEN does not come from the environment")
	}
	// Each system signs with a key of its own, and each consumer pins its
	// owner's public key (README, "Trust model").
	for name := range systems {
		if got, want := env(name, "EVENT_SIGNING_KEY"), secrets[strings.ToUpper(name)+"_EVENT_SIGNING_KEY"]; got != want {
			t.Errorf("%s: EVENT_SIGNING_KEY is %q, want its own %s_EVENT_SIGNING_KEY", name, got, strings.ToUpper(name))
		}
	}
	for name, pins := range map[string]string{"users": "CHAT_EVENT_KEYS", "chat": "USERS_EVENT_KEYS", "cards": "USERS_EVENT_KEYS"} {
		if env(name, pins) != secrets[pins] {
			t.Errorf("%s: %s does not come from the environment", name, pins)
		}
	}
	if rabbit := p.Services["rabbitmq"].Environment["RABBITMQ_DEFAULT_PASS"]; rabbit == nil || *rabbit != secrets["RABBITMQ_PASSWORD"] {
		t.Error("rabbitmq: RABBITMQ_DEFAULT_PASS does not come from RABBITMQ_PASSWORD")
	}
}

// The front door has a fixed address, and every system that counts clients by
// their address (the one whose config reads TRUSTED_PROXIES) believes the
// X-Forwarded-For of that address alone: no other container, nor a private
// range, can choose its client's address.
func TestComposeSystemsBelieveTheFrontDoorAlone(t *testing.T) {
	p := mustLoad(t)
	door := p.Services["frontdoor"].Networks["frontend"]
	if door == nil || door.Ipv4Address == "" {
		t.Fatal("the front door has no fixed ipv4_address on the frontend network")
	}
	subnets := p.Networks["frontend"].Ipam.Config
	if len(subnets) != 1 {
		t.Fatalf("the frontend network has subnets %v, want one, for the front door's fixed address", subnets)
	}
	subnet, err := netip.ParsePrefix(subnets[0].Subnet)
	if addr, aerr := netip.ParseAddr(door.Ipv4Address); err != nil || aerr != nil || !subnet.Contains(addr) {
		t.Errorf("the front door's %s is not in the frontend network's subnet %s", door.Ipv4Address, subnets[0].Subnet)
	}
	readers := 0
	for name := range systems {
		if !strings.Contains(readFile(t, "scs-"+name+"/internal/config/config.go"), `"TRUSTED_PROXIES"`) {
			continue
		}
		readers++
		v := p.Services[name].Environment["TRUSTED_PROXIES"]
		if v == nil || *v != door.Ipv4Address {
			t.Errorf("%s: TRUSTED_PROXIES = %v, want the front door's address %s alone", name, v, door.Ipv4Address)
		}
	}
	if readers == 0 {
		t.Error("no system reads TRUSTED_PROXIES; scs-users' login limits count by client address")
	}
	for _, variable := range []string{"FRONT_DOOR_TRUSTED_PROXIES", "FRONT_DOOR_HSTS"} {
		if v := p.Services["frontdoor"].Environment[variable]; v == nil || *v != "" {
			t.Errorf("frontdoor: %s = %v, want set and empty by default", variable, v)
		}
	}
}

// Every variable compose sets for a system is one that the system reads: a
// misspelt name would be ignored, and the system would run on its default.
func TestComposeSetsOnlyVariablesTheSystemsRead(t *testing.T) {
	p := mustLoad(t)
	shared := readFile(t, "shared-events/runtime/runtimeconfig/runtimeconfig.go")
	for name := range systems {
		config := readFile(t, "scs-"+name+"/internal/config/config.go")
		for variable := range p.Services[name].Environment {
			if q := `"` + variable + `"`; !strings.Contains(config, q) && !strings.Contains(shared, q) {
				t.Errorf("%s: compose sets %s, which neither scs-%s/internal/config nor shared-events/runtime/runtimeconfig reads", name, variable, name)
			}
		}
	}
}

// The images are built from the systems' own Dockerfiles with the repository
// root as the context (see TestDockerfiles for what they copy from it).
func TestComposeBuildsEachSystemFromItsDockerfile(t *testing.T) {
	p := mustLoad(t)
	for name, s := range p.Services {
		_, isSystem := systems[name]
		switch {
		case !isSystem && s.Build != nil:
			t.Errorf("%s is built; only the systems are", name)
		case !isSystem:
		case s.Build == nil:
			t.Errorf("%s is not built from its Dockerfile", name)
		case s.Build.Context != root:
			t.Errorf("%s's build context is %q, want the repository root (its Dockerfile copies shared-events/ too)", name, s.Build.Context)
		case s.Build.Dockerfile != "scs-"+name+"/Dockerfile":
			t.Errorf("%s's Dockerfile is %q, want scs-%s/Dockerfile", name, s.Build.Dockerfile, name)
		default:
			if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
				t.Errorf("%s's Dockerfile: %v", name, err)
			}
		}
	}
	// The Caddyfile mounted into the front door is the one the tests run.
	var mounted bool
	for _, v := range p.Services["frontdoor"].Volumes {
		if v.Target == "/etc/caddy/Caddyfile" {
			mounted = v.Source == filepath.Join(root, "deploy", "Caddyfile") && v.ReadOnly
		}
	}
	if !mounted {
		t.Error("the front door does not mount deploy/Caddyfile read-only at /etc/caddy/Caddyfile")
	}
}

// No secret is written in compose.yaml: each comes from the environment,
// with no default to fall back on, and none of the systems' development
// secrets appears.
func TestComposeHoldsNoSecret(t *testing.T) {
	raw := readFile(t, "compose.yaml")
	for _, literal := range []string{
		"dev-feed-token", "dev-terminal-token", "guest:guest", "ZGV2ZWxvcG1lbnQta2V5LWVuY3J5cHRpb24ta2V5ISE=",
		"POSTGRES_HOST_AUTH_METHOD",
	} {
		if strings.Contains(raw, literal) {
			t.Errorf("compose.yaml holds %q", literal)
		}
	}
	secretish := regexp.MustCompile(`PASSWORD|PASS$|TOKEN|KEY$|SECRET`)
	for _, m := range regexp.MustCompile(`\$\{([A-Z0-9_]+)(:?[-?+]?)`).FindAllStringSubmatch(raw, -1) {
		name, op := m[1], m[2]
		if !secretish.MatchString(name) {
			continue
		}
		if _, known := secrets[name]; !known {
			t.Errorf("compose.yaml reads %s, which looks like a secret this test does not know", name)
		}
		if op != ":?" {
			t.Errorf("compose.yaml reads %s with %q; a secret is required (${%s:?message}), never defaulted", name, op, name)
		}
	}
	// Every variable that looks like a secret, in every service, holds what
	// the environment gave and nothing written in the file.
	p := mustLoad(t)
	for name, s := range p.Services {
		for variable, v := range s.Environment {
			if v == nil || !secretish.MatchString(variable) || variable == "FEED_TOKENS" {
				continue
			}
			if !slices.Contains(slices.Collect(maps.Values(secrets)), *v) {
				t.Errorf("%s: %s is not one of the environment's secrets", name, variable)
			}
		}
	}
}

// Without a required secret compose refuses to load, and says which one is
// missing and where to look.
func TestComposeRefusesAMissingSecret(t *testing.T) {
	for name := range secrets {
		t.Run(name, func(t *testing.T) {
			env := maps.Clone(secrets)
			delete(env, name)
			_, err := load(t, env)
			if err == nil {
				t.Fatalf("compose.yaml loads without %s", name)
			}
			if msg := err.Error(); !strings.Contains(msg, name) || !strings.Contains(msg, ".env.example") && !strings.Contains(msg, "openssl") {
				t.Errorf("the error does not name %s and how to set it: %v", name, err)
			}
		})
	}
}

// .env.example names every variable compose.yaml reads, with no value for
// any secret, so that a copy of it that is not filled in is refused.
func TestEnvExampleListsEveryVariable(t *testing.T) {
	f, err := os.Open(filepath.Join(root, ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	example, err := dotenv.ParseWithLookup(f, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`\$\{([A-Z0-9_]+)`).FindAllStringSubmatch(readFile(t, "compose.yaml"), -1) {
		if _, listed := example[m[1]]; !listed {
			t.Errorf(".env.example does not list %s, which compose.yaml reads", m[1])
		}
	}
	for name := range secrets {
		if example[name] != "" {
			t.Errorf(".env.example gives %s a value; it must stay empty until the operator sets a real one", name)
		}
	}
	if _, err := load(t, example); err == nil {
		t.Error("compose.yaml loads with .env.example as it is; its empty secrets must be refused")
	}
}

// One system alone, as README.md's "Deploy one system alone" runs it: the
// services selected on the command line pull in exactly their database and
// the broker (with its setup) through depends_on, and nothing of the other systems.
func TestComposeRunsOneSystemAlone(t *testing.T) {
	for name := range systems {
		t.Run(name, func(t *testing.T) {
			alone := mustLoad(t, name)
			if got, want := slices.Sorted(maps.Keys(alone.Services)), slices.Sorted(slices.Values([]string{name, name + "-db", "broker-setup", "rabbitmq"})); !slices.Equal(got, want) {
				t.Errorf("docker compose up %s starts %v, want %v", name, got, want)
			}
			behind := mustLoad(t, name, "frontdoor")
			if got, want := slices.Sorted(maps.Keys(behind.Services)), slices.Sorted(slices.Values([]string{name, name + "-db", "broker-setup", "frontdoor", "rabbitmq"})); !slices.Equal(got, want) {
				t.Errorf("docker compose up %s frontdoor starts %v, want %v", name, got, want)
			}
		})
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// placeholderDefault is the default of {$name:default} in a Caddyfile.
func placeholderDefault(t *testing.T, caddyfile, name string) string {
	t.Helper()
	m := regexp.MustCompile(`\{\$` + name + `:([^}]*)\}`).FindStringSubmatch(caddyfile)
	if m == nil {
		t.Fatalf("deploy/Caddyfile has no {$%s:default}", name)
	}
	return m[1]
}
