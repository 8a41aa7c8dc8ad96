package chaos

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// account is a user driven over HTTP through the front door: a cookie jar
// holding the session scs-users set at sign-up.
type account struct {
	email string
	label string
	jar   *cookiejar.Jar
	// last is the display name of the newest rename scs-users confirmed. One
	// stream worker owns the account, and the test reads it after the stream.
	last string
}

// transport is shared by every account (each brings its own jar), so that the
// stream reuses its connections to the front door instead of exhausting ports.
var transport = &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second}

// post sends a form and returns the status and the Location; the client's
// timeout bounds it.
func (a *account) post(target string, form url.Values) (int, string, error) {
	c := &http.Client{
		Jar: a.jar, Transport: transport, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := c.PostForm(target, form)
	if err != nil {
		return 0, "", err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

// signUp creates n accounts through the front door at base, a few at a time
// (each sign-up hashes a password with argon2id, which is the slow part).
func signUp(t *testing.T, base string, n int) []*account {
	t.Helper()
	accounts := make([]*account, n)
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 4 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				jar, _ := cookiejar.New(nil)
				a := &account{email: fmt.Sprintf("chaos%03d@example.com", i), label: fmt.Sprintf("Chaos %03d", i), jar: jar}
				a.last = a.label
				status, loc, err := a.post(base+"/users/signup", url.Values{
					"email": {a.email}, "display_name": {a.label}, "password": {"correct horse battery staple " + a.label},
				})
				if err != nil || status != http.StatusSeeOther || loc != "/users/account?done=signup" {
					t.Errorf("sign up %s: %d to %q, %v", a.email, status, loc, err)
					return
				}
				accounts[i] = a
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return accounts
}

// stream renames accounts total times from a few goroutines, each owning its
// share of the accounts so that one account's renames are sequential. The
// test lets it run in segments (allow), so that its faults happen while the
// stream still has renames to send, however fast the machine.
type stream struct {
	base  string
	total int64
	// confirmed counts renames scs-users confirmed (303 to the account page);
	// refused counts attempts that met a platform in trouble and were repeated.
	confirmed, refused atomic.Int64
	done               chan struct{}

	mu   sync.Mutex
	cond *sync.Cond // broadcast when allowed grows or the stream fails
	// allowed is how many renames the workers may start in all; started, how
	// many they did.
	allowed, started int64
	err              error
}

// renames numbers every rename of the test binary, so that each one names
// the account anew (a rename to the current name changes nothing and
// publishes nothing), in one stream or the next.
var renames atomic.Int64

// patience is how long one rename may keep failing before the stream gives
// up: far longer than any restart of scs-users takes here.
const patience = time.Minute

// startStream starts renaming total times in the background from workers
// goroutines, the first allowed of them at once and the rest as allow lets
// them; wait for the end with wait.
func startStream(base string, accounts []*account, total, workers, allowed int) *stream {
	s := &stream{base: base, total: int64(total), allowed: int64(min(allowed, total)), done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	var wg sync.WaitGroup
	for w := range workers {
		var mine []*account
		for i := w; i < len(accounts); i += workers {
			mine = append(mine, accounts[i])
		}
		wg.Go(func() {
			for k := 0; s.next(); k++ {
				a := mine[k%len(mine)]
				name := fmt.Sprintf("%s change %05d", a.label, renames.Add(1))
				if err := s.rename(a, name); err != nil {
					s.fail(err)
					return
				}
				a.last = name
				s.confirmed.Add(1)
			}
		})
	}
	go func() {
		wg.Wait()
		close(s.done)
	}()
	return s
}

// allow lets the stream go on until n more renames than are confirmed now
// have started, or to its end.
func (s *stream) allow(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.allowed = min(s.total, max(s.allowed, s.confirmed.Load()+n))
	s.cond.Broadcast()
}

// next waits until a worker may start another rename, and reports false once
// the stream has started them all or failed.
func (s *stream) next() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.err != nil || s.started >= s.total {
			return false
		}
		if s.started < s.allowed {
			s.started++
			return true
		}
		s.cond.Wait()
	}
}

// rename renames a until scs-users confirms it. A refused attempt (the front
// door's 502 while scs-users is down, a connection cut by its crash) is
// repeated with the same name: whether or not the cut attempt committed,
// renaming to the name again leaves one change, so every change the stream
// counts is in scs-users and no other is.
func (s *stream) rename(a *account, name string) error {
	deadline := time.Now().Add(patience)
	for {
		if err := s.error(); err != nil {
			return fmt.Errorf("stopped: %w", err)
		}
		status, loc, err := a.post(s.base+"/users/account/name", url.Values{"display_name": {name}})
		switch {
		case err == nil && status == http.StatusSeeOther && loc == "/users/account?done=name":
			return nil
		case err == nil && status != http.StatusBadGateway && status != http.StatusServiceUnavailable && status != http.StatusGatewayTimeout:
			return fmt.Errorf("rename %s to %q: %d to %q, want 303 to /users/account?done=name", a.email, name, status, loc)
		}
		s.refused.Add(1)
		if time.Now().After(deadline) {
			return fmt.Errorf("rename %s to %q: still refused after %s (last: %d, %v)", a.email, name, patience, status, err)
		}
		// Back off a little: scs-users is restarting, not hammered back.
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *stream) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
	s.cond.Broadcast()
}

func (s *stream) error() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// reach waits until at least n renames are confirmed, failing the test if the
// stream fails or ends first.
func (s *stream) reach(t *testing.T, n int64) {
	t.Helper()
	s.mu.Lock()
	allowed := s.allowed
	s.mu.Unlock()
	if n > allowed {
		t.Fatalf("waiting for %d confirmed renames, but the stream may send only %d so far: allow more first", n, allowed)
	}
	deadline := time.Now().Add(2 * patience)
	for s.confirmed.Load() < n {
		select {
		case <-s.done:
			if err := s.error(); err != nil {
				t.Fatalf("the stream failed: %v", err)
			}
			t.Fatalf("the stream ended at %d confirmed changes, before %d", s.confirmed.Load(), n)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stream did not reach %d confirmed changes (at %d) within %s", n, s.confirmed.Load(), 2*patience)
		}
	}
}

// ahead is how far the stream may run past what the test waits for, so that
// the fault that follows meets renames in flight.
const ahead = 300

// advance lets the stream go on and waits for n more confirmed changes.
func (s *stream) advance(t *testing.T, n int64) {
	t.Helper()
	target := s.confirmed.Load() + n
	s.allow(n + ahead)
	s.reach(t, target)
}

// wait waits for the stream to end and fails the test if it failed.
func (s *stream) wait(t *testing.T) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(5 * time.Minute):
		t.Fatalf("the stream did not end within 5 minutes (at %d confirmed changes)", s.confirmed.Load())
	}
	if err := s.error(); err != nil {
		t.Fatalf("the stream failed: %v", err)
	}
}
