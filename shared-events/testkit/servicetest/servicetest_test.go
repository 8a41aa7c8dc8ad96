package servicetest_test

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/scs-platform/shared-events/testkit/servicetest"
)

// A test's AMQPURL is a virtual host of its own: the same for every call in
// the test, another in another test, never the broker's default one, and gone
// with everything in it when the test ends.
func TestAMQPURLIsAVirtualHostOfTheTestsOwn(t *testing.T) {
	t.Parallel()
	var first, second string
	t.Run("first", func(t *testing.T) {
		first = servicetest.AMQPURL(t)
		if again := servicetest.AMQPURL(t); again != first {
			t.Errorf("a second AMQPURL in one test is %s, want the first, %s", again, first)
		}
		if servicetest.DefaultVHost(first) {
			t.Fatalf("AMQPURL = %s, the broker's default virtual host", first)
		}
		ch, err := servicetest.AMQP(t).Channel()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ch.QueueDeclare("chat.from-users", true, false, false, false, nil); err != nil {
			t.Fatalf("the test may not declare a queue in its own virtual host: %v", err)
		}
	})
	t.Run("second", func(t *testing.T) {
		second = servicetest.AMQPURL(t)
		// The real queue name of the first test is free here.
		ch, err := servicetest.AMQP(t).Channel()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ch.QueueDeclarePassive("chat.from-users", true, false, false, false, nil); err == nil {
			t.Error("the second test sees the first test's queue")
		}
	})
	if first == "" || second == "" {
		t.Skip("no broker")
	}
	if vhost(t, first) == vhost(t, second) {
		t.Errorf("two tests share the virtual host %s", vhost(t, first))
	}
	conn, err := amqp.Dial(first)
	if err == nil {
		conn.Close()
		t.Fatalf("the first test's virtual host %s is still there after it ended", vhost(t, first))
	}
	var ae *amqp.Error
	if !errors.As(err, &ae) || ae.Code != amqp.NotAllowed {
		t.Errorf("dial the ended test's virtual host: %v, want NOT_ALLOWED (no such virtual host)", err)
	}
}

func vhost(t *testing.T, amqpURL string) string {
	t.Helper()
	u, err := url.Parse(amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

func TestDefaultVHost(t *testing.T) {
	t.Parallel()
	for u, want := range map[string]bool{
		"amqp://guest:guest@127.0.0.1:5672/":         true,
		"amqp://guest:guest@localhost:5672":          true,
		"amqp://guest:guest@localhost/":              true,
		"amqps://guest:guest@localhost/":             true,
		"amqp://guest:guest@127.0.0.1:5672/test-x-1": false,
		"amqp://guest:guest@127.0.0.1:1/":            false,
		"amqp://u:p@broker.example:5672/":            false,
		"amqps://guest:guest@localhost:41234/":       false,
		"http://127.0.0.1:5672/":                     false,
	} {
		if got := servicetest.DefaultVHost(u); got != want {
			t.Errorf("DefaultVHost(%s) = %v, want %v", u, got, want)
		}
	}
}

// No test of any module works in the broker's default virtual host, where the
// platform of make run and the tests of other packages are (issue 13): a test
// takes servicetest.AMQPURL, a virtual host of its own. This lists the files
// that do otherwise:
//   - a file that takes servicetest.BrokerURL (the default virtual host)
//     without making virtual hosts of its own with provision or e2e's vhost;
//   - a file that reads TEST_AMQP_URL or servicetest.DefaultAMQPURL itself;
//   - a test file that spells out a URL of the local broker's default virtual
//     host (a URL of port 1, for a broker that is down, is fine).
//
// programtest.Start refuses a program whose AMQP_URL is the default virtual
// host, or unset (the programs' default).
func TestNoTestWorksInTheBrokersDefaultVirtualHost(t *testing.T) {
	t.Parallel()
	root := repositoryRoot(t)
	var offenders []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules" || name == "data" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if f.Name.Name == "servicetest" || f.Name.Name == "servicetest_test" {
			return nil // the one place that hands out virtual hosts
		}
		for _, why := range defaultVHostUses(f, strings.HasSuffix(path, "_test.go")) {
			offenders = append(offenders, rel+": "+why)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(offenders) > 0 {
		slices.Sort(offenders)
		t.Errorf("tests that work in the broker's default virtual host (take servicetest.AMQPURL, a virtual host of the test's own):\n\t%s",
			strings.Join(offenders, "\n\t"))
	}
}

// defaultVHostUses says how f reaches the broker's default virtual host.
func defaultVHostUses(f *ast.File, isTest bool) []string {
	st, prov, vh := importName(f, "/servicetest"), importName(f, "/provision"), importName(f, "/vhost")
	var whys []string
	takesBase, makesVHosts := false, false
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			x, ok := n.X.(*ast.Ident)
			if !ok {
				return true
			}
			switch {
			case x.Name == st && n.Sel.Name == "BrokerURL":
				takesBase = true
			case x.Name == st && n.Sel.Name == "DefaultAMQPURL":
				whys = append(whys, "uses servicetest.DefaultAMQPURL")
			case x.Name == prov && slices.Contains([]string{"AddVHost", "EnsureVHost", "DeleteVHost"}, n.Sel.Name),
				x.Name == vh && n.Sel.Name == "Create":
				makesVHosts = true
			}
		case *ast.BasicLit:
			if n.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(n.Value)
			if err != nil {
				return true
			}
			if s == "TEST_AMQP_URL" {
				whys = append(whys, "reads TEST_AMQP_URL")
			}
			if isTest && servicetest.DefaultVHost(s) {
				whys = append(whys, "spells out "+strconv.Quote(redacted(s)))
			}
		}
		return true
	})
	if takesBase && !makesVHosts {
		whys = append(whys, "takes servicetest.BrokerURL but makes no virtual host")
	}
	return whys
}

func redacted(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.Redacted()
}

// importName is the name under which f imports the package whose path ends
// in suffix, or "" if it does not.
func importName(f *ast.File, suffix string) string {
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if !strings.HasSuffix(p, suffix) {
			continue
		}
		if imp.Name != nil {
			return imp.Name.Name
		}
		return p[strings.LastIndex(p, "/")+1:]
	}
	return ""
}

// repositoryRoot is the directory above this one that holds go.work.
func repositoryRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("not in the repository (no go.work above)")
		}
		dir = parent
	}
}
