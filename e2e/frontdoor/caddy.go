package frontdoor

import "strings"

// Systems are the systems behind the front door, by the name of their prefix.
var Systems = []string{"users", "chat", "cards"}

// CaddyEnv fills the placeholders of deploy/Caddyfile, the real front door of
// compose, for a run outside compose (the tests, the benchmark): Caddy listens
// on port, on every interface (given a host, Caddy would also match the Host
// header), answers its own healthcheck on healthPort, keeps its state under
// dir, and routes each system's prefix to its instances (host:port), in turn.
// A system without instances gets a port nothing listens on, so that its prefix
// answers 502, as in compose with that system down.
func CaddyEnv(port, healthPort, dir string, instances map[string][]string) map[string]string {
	env := map[string]string{
		"FRONT_DOOR_ADDR":        ":" + port,
		"FRONT_DOOR_HEALTH_PORT": healthPort,
		"XDG_CONFIG_HOME":        dir,
		"XDG_DATA_HOME":          dir,
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
