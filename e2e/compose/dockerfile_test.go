package compose

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instruction is one line of a Dockerfile, continuations joined.
type instruction struct {
	cmd   string // upper case: FROM, COPY, RUN...
	flags []string
	args  []string
	line  string
}

// stage is one FROM and what follows it.
type stage struct {
	image, name string
	body        []instruction
}

// parseDockerfile reads the instructions of a Dockerfile by stage. It knows
// the forms these Dockerfiles use, not the whole syntax: a line it cannot
// read fails the test rather than pass unread.
func parseDockerfile(t *testing.T, file string) (directives []string, stages []stage) {
	t.Helper()
	var logical []string
	var cur string
	directive := regexp.MustCompile(`^#\s*([a-z]+=\S+)$`)
	inHeader := true // parser directives come first, before any other line
	for _, l := range strings.Split(readFile(t, file), "\n") {
		trimmed := strings.TrimSpace(l)
		if m := directive.FindStringSubmatch(trimmed); inHeader && m != nil {
			directives = append(directives, m[1])
			continue
		}
		inHeader = false
		if cur == "" && strings.HasPrefix(trimmed, "#") {
			continue
		}
		if trimmed == "" && cur == "" {
			continue
		}
		if before, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur += before + " "
			continue
		}
		logical = append(logical, cur+trimmed)
		cur = ""
	}
	for _, l := range logical {
		cmd, rest, _ := strings.Cut(l, " ")
		in := instruction{cmd: strings.ToUpper(cmd), line: l}
		fields := strings.Fields(rest)
		for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
			in.flags = append(in.flags, fields[0])
			fields = fields[1:]
		}
		in.args = fields
		if in.cmd == "FROM" {
			s := stage{image: fields[0]}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				s.name = fields[2]
			} else if len(fields) != 1 {
				t.Fatalf("%s: cannot read %q", file, l)
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("%s: %q comes before any FROM", file, l)
		}
		stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
	}
	return directives, stages
}

func (in instruction) flag(name string) (string, bool) {
	for _, f := range in.flags {
		if v, ok := strings.CutPrefix(f, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// env is what the stage's ENV lines set (in the NAME=value form).
func (s stage) env(t *testing.T) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, in := range s.body {
		if in.cmd != "ENV" {
			continue
		}
		for _, a := range in.args {
			k, v, ok := strings.Cut(a, "=")
			if !ok {
				t.Fatalf("ENV %q: write NAME=value", in.line)
			}
			env[k] = v
		}
	}
	return env
}

// copied is what a stage copies from the build context: source → destination,
// in order.
type copied struct{ src, dst string }

func (s stage) copies() []copied {
	var out []copied
	for _, in := range s.body {
		if _, from := in.flag("from"); in.cmd != "COPY" || from {
			continue
		}
		dst := in.args[len(in.args)-1]
		for _, src := range in.args[:len(in.args)-1] {
			d := dst
			if strings.HasSuffix(dst, "/") && !strings.HasSuffix(src, "/") {
				d = dst + path.Base(src)
			}
			out = append(out, copied{src: src, dst: d})
		}
	}
	return out
}

// replacePath is where a system's go.mod finds shared-events.
func replacePath(t *testing.T, system, module string) string {
	t.Helper()
	// A replace line of its own, or a line of a replace block.
	re := regexp.MustCompile(`(?m)^(?:replace)?\s*` + regexp.QuoteMeta(module) + ` => (\S+)$`)
	m := re.FindStringSubmatch(readFile(t, "scs-"+system+"/go.mod"))
	if m == nil {
		t.Fatalf("scs-%s/go.mod does not replace %s", system, module)
	}
	return m[1]
}

// TestDockerfiles reads each system's Dockerfile for what docs/architecture.md and
// the runtime contract ask of its image: built from the module alone
// (GOWORK=off) out of its own directory and shared-events/ only, a static
// binary, a small final image running as a non-root user with no
// configuration baked in.
func TestDockerfiles(t *testing.T) {
	for name, port := range systems {
		t.Run(name, func(t *testing.T) {
			file := "scs-" + name + "/Dockerfile"
			directives, stages := parseDockerfile(t, file)
			binary := "scs-" + name
			if len(stages) < 2 {
				t.Fatalf("%s has %d stages, want a build stage and a final one", file, len(stages))
			}
			build, final := stages[0], stages[len(stages)-1]

			if !strings.HasPrefix(build.image, "golang:1.26") || build.name == "" {
				t.Errorf("the build stage is FROM %s AS %q, want golang:1.26 with a name", build.image, build.name)
			}
			env := build.env(t)
			for k, want := range map[string]string{"GOWORK": "off", "CGO_ENABLED": "0"} {
				if env[k] != want {
					t.Errorf("the build stage sets %s=%q, want %q", k, env[k], want)
				}
			}

			// Only the module and shared-events, side by side as the
			// module's replace line expects them.
			dst := map[string]string{}
			for _, c := range build.copies() {
				top, _, _ := strings.Cut(c.src, "/")
				if top != binary && top != "shared-events" {
					t.Errorf("the build copies %s; only %s/ and shared-events/ may go in", c.src, binary)
				}
				if c.src == top+"/" {
					dst[top] = strings.TrimSuffix(c.dst, "/")
				}
			}
			if dst[binary] == "" || dst["shared-events"] == "" {
				t.Fatalf("the build does not copy both %s/ and shared-events/ whole: %v", binary, build.copies())
			}
			if got, want := path.Join(dst[binary], replacePath(t, name, "github.com/scs-platform/shared-events")), dst["shared-events"]; got != want {
				t.Errorf("go.mod's replace finds shared-events at %s, but the build copies it to %s", got, want)
			}
			// The contracts are a module of their own inside shared-events/.
			if got, want := path.Join(dst[binary], replacePath(t, name, "github.com/scs-platform/shared-events/contracts")), dst["shared-events"]+"/contracts"; got != want {
				t.Errorf("go.mod's replace finds the contracts at %s, but the build copies them to %s", got, want)
			}

			// The modules are downloaded from go.mod and go.sum alone, in a
			// layer that the sources do not invalidate; then one go build.
			var downloaded, built bool
			workdir := ""
			for _, in := range build.body {
				switch {
				case in.cmd == "WORKDIR":
					workdir = in.args[0]
				case in.cmd == "COPY" && !downloaded:
					for _, src := range in.args[:len(in.args)-1] {
						if base := path.Base(src); base != "go.mod" && base != "go.sum" {
							t.Errorf("%q copies %s before the modules are downloaded: every change to it would download them again", in.line, src)
						}
					}
				case in.cmd == "RUN" && strings.Contains(in.line, "go mod download"):
					downloaded = true
				case in.cmd == "RUN" && strings.Contains(in.line, "go build"):
					built = true
					if !downloaded {
						t.Error("go build runs before go mod download")
					}
					for _, want := range []string{"-trimpath", "./cmd/" + binary} {
						if !slices.Contains(in.args, want) {
							t.Errorf("%q does not pass %s", in.line, want)
						}
					}
					if workdir != dst[binary] {
						t.Errorf("go build runs in %s, want the module's directory %s", workdir, dst[binary])
					}
					if strings.Contains(in.line, "--mount") && !slices.Contains(directives, "syntax=docker/dockerfile:1") {
						t.Error("RUN --mount needs the dockerfile:1 syntax directive on the first line")
					}
				}
			}
			if !downloaded || !built {
				t.Errorf("the build stage does not run go mod download (%v) and go build (%v)", downloaded, built)
			}

			// The final image: the binary, distroless and non-root.
			if !strings.HasPrefix(final.image, "gcr.io/distroless/static") || !strings.HasSuffix(final.image, ":nonroot") {
				t.Errorf("the final stage is FROM %s, want distroless static nonroot", final.image)
			}
			var user, expose, entrypoint, healthcheck string
			for _, in := range final.body {
				switch in.cmd {
				case "USER":
					user = in.args[0]
				case "EXPOSE":
					expose = strings.Join(in.args, " ")
				case "ENTRYPOINT":
					entrypoint = strings.Join(in.args, " ")
				case "HEALTHCHECK":
					healthcheck = in.line
				case "ENV", "ARG":
					t.Errorf("the final image sets %q: configuration comes from the environment at run time", in.line)
				case "COPY":
					from, _ := in.flag("from")
					src := in.args[0]
					switch {
					case from == build.name && src == "/out/"+binary:
					default:
						t.Errorf("the final image gets %q; it holds the binary only", in.line)
					}
				}
			}
			if user == "" || user == "root" || strings.HasPrefix(user, "0") {
				t.Errorf("the final image runs as %q, want a non-root user", user)
			}
			if expose != port {
				t.Errorf("the final image exposes %q, want %s (the system's default HTTP_ADDR)", expose, port)
			}
			if entrypoint != `["/usr/local/bin/`+binary+`"]` {
				t.Errorf("ENTRYPOINT %s, want the binary", entrypoint)
			}
			if !strings.HasSuffix(healthcheck, `CMD ["/usr/local/bin/`+binary+`", "healthcheck"]`) {
				t.Errorf("HEALTHCHECK %q is not the binary's own probe", healthcheck)
			}
		})
	}
}

// TestEachSystemsBuildNeedsOnlyItsDockerContext proves that the files an
// image's build reads are in what the build gets: every source, embedded
// file and go.mod of the packages its binary is made of, as go list selects
// them with the build stage's environment (GOWORK=off, CGO_ENABLED=0, linux),
// is sent by its Dockerfile.dockerignore and copied by its COPY lines, and
// every other module comes from the module cache (go mod download), not from
// a directory of the repository. That the module compiles with GOWORK=off is
// what the Makefile's build-alone and platform's build already do; compiling
// again here, with the image's flags and so a build cache of its own, would
// cost minutes and prove nothing more.
func TestEachSystemsBuildNeedsOnlyItsDockerContext(t *testing.T) {
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	for name := range systems {
		t.Run(name, func(t *testing.T) {
			_, stages := parseDockerfile(t, "scs-"+name+"/Dockerfile")
			build := stages[0]
			sent := map[string]bool{}
			for _, f := range dockerContext(t, "scs-"+name+"/Dockerfile.dockerignore") {
				for _, c := range build.copies() {
					if f == c.src || strings.HasSuffix(c.src, "/") && strings.HasPrefix(f, c.src) {
						sent[f] = true
					}
				}
			}
			cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Module,Dir,GoFiles,CgoFiles,EmbedFiles,SFiles,HFiles,CFiles,SysoFiles", "./cmd/scs-"+name)
			cmd.Dir = filepath.Join(root, "scs-"+name)
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "GOFLAGS=-mod=readonly")
			for k, v := range build.env(t) {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			var needed int
			for dec := json.NewDecoder(bytes.NewReader(out)); dec.More(); {
				var pkg struct {
					ImportPath, Dir                                                  string
					Module                                                           *struct{ Path, Dir, GoMod string }
					GoFiles, CgoFiles, EmbedFiles, SFiles, HFiles, CFiles, SysoFiles []string
				}
				if err := dec.Decode(&pkg); err != nil {
					t.Fatal(err)
				}
				if pkg.Module == nil {
					continue // the standard library, in the golang image
				}
				if strings.HasPrefix(pkg.Module.Dir, strings.TrimSpace(string(modcache))+string(filepath.Separator)) {
					continue // downloaded by go mod download
				}
				files := []string{pkg.Module.GoMod, filepath.Join(pkg.Module.Dir, "go.sum")}
				for _, list := range [][]string{pkg.GoFiles, pkg.CgoFiles, pkg.EmbedFiles, pkg.SFiles, pkg.HFiles, pkg.CFiles, pkg.SysoFiles} {
					for _, f := range list {
						files = append(files, filepath.Join(pkg.Dir, f))
					}
				}
				for _, f := range files {
					rel, err := filepath.Rel(root, f)
					if err != nil || !sent[filepath.ToSlash(rel)] {
						t.Errorf("%s needs %s, which the image's build does not get", pkg.ImportPath, f)
					}
					needed++
				}
			}
			if needed == 0 {
				t.Fatal("go list named no file of the repository; the check checked nothing")
			}
		})
	}
}

// dockerContext is the files of the repository that a build with this ignore
// file sends, as slash-separated paths from the root. It reads the forms of
// pattern that the ignore files use (NAME, DIR/, *, **/GLOB, !PATTERN), last
// match winning, a pattern on a directory covering all beneath it.
func dockerContext(t *testing.T, ignoreFile string) []string {
	t.Helper()
	type rule struct {
		pattern string
		include bool
	}
	var rules []rule
	for _, l := range strings.Split(readFile(t, ignoreFile), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		r := rule{}
		if p, ok := strings.CutPrefix(l, "!"); ok {
			r.include, l = true, p
		}
		r.pattern = strings.TrimSuffix(l, "/")
		if _, err := path.Match(strings.TrimPrefix(r.pattern, "**/"), ""); err != nil || strings.Contains(strings.TrimPrefix(r.pattern, "**/"), "**") {
			t.Fatalf("%s: cannot read the pattern %q", ignoreFile, l)
		}
		rules = append(rules, r)
	}
	matches := func(pattern, p string) bool {
		segs := strings.Split(p, "/")
		for k := 1; k <= len(segs); k++ { // p itself or a directory above it
			if rest, any := strings.CutPrefix(pattern, "**/"); any {
				for j := 0; j < k; j++ {
					if ok, _ := path.Match(rest, strings.Join(segs[j:k], "/")); ok {
						return true
					}
				}
			} else if ok, _ := path.Match(pattern, strings.Join(segs[:k], "/")); ok {
				return true
			}
		}
		return false
	}
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		sent := true
		for _, r := range rules {
			if matches(r.pattern, rel) {
				sent = r.include
			}
		}
		if sent {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The ignore files keep out of every image what must never reach one.
func TestDockerignoreKeepsSecretsOut(t *testing.T) {
	for _, name := range []string{"users", "chat", "cards"} {
		context := dockerContext(t, "scs-"+name+"/Dockerfile.dockerignore")
		for _, f := range context {
			top, _, _ := strings.Cut(f, "/")
			if top != "shared-events" && top != "scs-"+name {
				t.Errorf("scs-%s's build context holds %s", name, f)
			}
			if strings.HasSuffix(f, "_test.go") || strings.Contains(f, "/testdata/") || strings.HasSuffix(f, ".db") {
				t.Errorf("scs-%s's build context holds %s", name, f)
			}
		}
	}
	root := readFile(t, ".dockerignore")
	for _, want := range []string{".env", ".git/", "data/", "**/*.db"} {
		if !slices.Contains(strings.Split(root, "\n"), want) {
			t.Errorf(".dockerignore does not keep out %s", want)
		}
	}
}
