package frontdoor

import "strings"

// Systems are the systems behind the front door, by the name of their prefix.
var Systems = []string{"users", "chat", "cards"}

// CaddyOptions are what an operator chooses about the front door in
// deploy/Caddyfile; the zero value is its default.
type CaddyOptions struct {
	// TrustedProxies are the addresses or CIDRs of the TLS proxy in front of
	// the door, whose X-Forwarded-For it believes (FRONT_DOOR_TRUSTED_PROXIES);
	// none by default.
	TrustedProxies []string
	// HSTS is the Strict-Transport-Security value the door sends, for a door
	// that the browser reaches over https (FRONT_DOOR_HSTS); none by default.
	HSTS string
}

// CaddyEnv fills the placeholders of deploy/Caddyfile, the real front door of
// compose, for a run outside compose (the tests, the benchmark): Caddy listens
// on port, on every interface (given a host, Caddy would also match the Host
// header), answers its own healthcheck on healthPort, keeps its state under
// dir, and routes each system's prefix to its instances (host:port), in turn.
// A system without instances gets a port nothing listens on, so that its prefix
// answers 502, as in compose with that system down. opts are set even when
// empty, so that the environment of the test cannot choose them.
func CaddyEnv(port, healthPort, dir string, instances map[string][]string, opts CaddyOptions) map[string]string {
	env := map[string]string{
		"FRONT_DOOR_ADDR":            ":" + port,
		"FRONT_DOOR_HEALTH_PORT":     healthPort,
		"FRONT_DOOR_TRUSTED_PROXIES": strings.Join(opts.TrustedProxies, " "),
		"FRONT_DOOR_HSTS":            opts.HSTS,
		"XDG_CONFIG_HOME":            dir,
		"XDG_DATA_HOME":              dir,
	}
	for _, name := range Systems {
		hosts := instances[name]
		if len(hosts) == 0 {
			hosts = []string{"127.0.0.1:1"}
		}
		// The Caddyfile reads the list as space-separated upstreams.
		env[strings.ToUpper(name)+"_UPSTREAMS"] = strings.Join(hosts, " ")
	}
	return env
}
