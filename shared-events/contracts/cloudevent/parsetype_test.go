package cloudevent

import (
	"regexp"
	"testing"
)

// typeGrammar is the grammar of type names as a regular expression: parseType
// must agree with it on every input.
var typeGrammar = regexp.MustCompile(`^(([a-z][a-z0-9]*)\.[a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*\.v[1-9][0-9]*$`)

func FuzzParseTypeAgreesWithTheGrammar(f *testing.F) {
	for _, s := range []string{
		"users.user.registered.v1", "chat.report.filed.v12", "users.user.registered.v0",
		"users.user.registered.v01", "users.user.registered", "Users.user.x.v1", "users.user_x.y_z.v1",
		"users1.user.x.v1", "users_x.user.x.v1", "users..x.v1", "a.b.c.d.v1", "a.b.c.v", ".b.c.v1", "a.b.c.v1.",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		owner, aggregate, ok := parseType(s)
		m := typeGrammar.FindStringSubmatch(s)
		if ok != (m != nil) {
			t.Fatalf("parseType(%q) ok=%v, grammar says %v", s, ok, m != nil)
		}
		if ok && (owner != m[2] || aggregate != m[1]) {
			t.Fatalf("parseType(%q) = %q, %q; grammar says %q, %q", s, owner, aggregate, m[2], m[1])
		}
	})
}
