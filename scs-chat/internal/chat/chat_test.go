package chat_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/database/sqldb"
	"github.com/scs-platform/shared-events/httpkit/ratelimit"
	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/scs-chat/internal/chat"
	"github.com/scs-platform/scs-chat/internal/chat/chattest"
	"github.com/scs-platform/scs-chat/internal/matching"
)

// Places in Berlin: Alexanderplatz, points 2 km east and west of it, and one 50 km north.
var (
	alex       = matching.Point{Lat: 52.5219, Lon: 13.4132}
	twoKmEast  = matching.Point{Lat: 52.5219, Lon: 13.4427}
	twoKmWest  = matching.Point{Lat: 52.5219, Lon: 13.3837}
	fiftyNorth = matching.Point{Lat: 52.9716, Lon: 13.4132}
)

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func join(t *testing.T, s *chat.Service, user string, at matching.Point, rangeKm float64) chat.Joined {
	t.Helper()
	j, err := s.Join(context.Background(), user, at, rangeKm)
	if err != nil {
		t.Fatalf("join %s: %v", user, err)
	}
	return j
}

func TestMatchmaking(t *testing.T) {
	t.Parallel()
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			db := b.Open(t)
			s, notes := chattest.NewService(t, db)
			ctx := context.Background()
			ada, bob, cyd := newID(), newID(), newID()

			if j := join(t, s, ada, alex, 5); j.ConversationID != "" {
				t.Fatalf("the first join matched: %+v", j)
			}
			if j := join(t, s, cyd, fiftyNorth, 100); j.ConversationID != "" {
				t.Fatalf("a join 50 km away, outside ada's 5 km, matched: %+v", j)
			}
			j := join(t, s, bob, twoKmEast, 5)
			if j.ConversationID == "" {
				t.Fatal("bob, 2 km from ada with ranges of 5 km, was not matched")
			}
			c, err := s.Conversation(ctx, bob, j.ConversationID)
			if err != nil {
				t.Fatal(err)
			}
			if c.PartnerID != ada || c.DistanceKm < 1.9 || c.DistanceKm > 2.1 {
				t.Errorf("conversation = partner %s at %.2f km, want ada at about 2 km", c.PartnerID, c.DistanceKm)
			}
			// The locations are gone: neither is waiting any more.
			var n int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM waiting WHERE user_id IN ($1, $2)`, ada, bob).Scan(&n); err != nil || n != 0 {
				t.Errorf("after the match %d waiting rows (err %v) of the pair remain, want 0", n, err)
			}
			var matched []string
			for _, note := range notes.All() {
				if note.Kind == "matched" && note.ConversationID == j.ConversationID {
					matched = append(matched, note.UserID)
				}
			}
			if len(matched) != 2 {
				t.Errorf("matched notes went to %v, want ada and bob", matched)
			}
			// cyd still waits; a rejoin of ada is her conversation back.
			if st, _ := s.Status(ctx, cyd); !st.Waiting {
				t.Error("cyd no longer waits")
			}
			if j := join(t, s, ada, alex, 5); !j.Already || j.ConversationID != c.ID {
				t.Errorf("ada's join while chatting = %+v, want her conversation back", j)
			}
		})
	}
}

func TestMatchmakingHonoursBothRangesBlocksAndFairness(t *testing.T) {
	t.Parallel()
	db := servicetest.SQLite(t)
	s, _ := chattest.NewService(t, db)
	ctx := context.Background()

	// ada will only go 1 km; bob, 2 km away, would go 5: no match either way.
	ada, bob := newID(), newID()
	join(t, s, ada, alex, 1)
	if j := join(t, s, bob, twoKmEast, 5); j.ConversationID != "" {
		t.Fatal("matched beyond ada's range of 1 km")
	}
	for _, u := range []string{ada, bob} {
		if err := s.StopWaiting(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.StopWaiting(ctx, ada); !errors.Is(err, chat.ErrNotWaiting) {
		t.Errorf("a second stop = %v, want ErrNotWaiting", err)
	}

	// Of two partners at the same distance (2 km east and west, 4 km apart
	// and out of each other's range), the one who waited longest.
	first, second, joiner := newID(), newID(), newID()
	join(t, s, first, twoKmEast, 3)
	join(t, s, second, twoKmWest, 3)
	j := join(t, s, joiner, alex, 5)
	c, err := s.Conversation(ctx, joiner, j.ConversationID)
	if err != nil || c.PartnerID != first {
		t.Fatalf("joiner was matched with %s (err %v), want the first waiter", c.PartnerID, err)
	}
	// The nearer one wins over the longer wait.
	far, near, joiner2 := newID(), newID(), newID()
	if err := s.StopWaiting(ctx, second); err != nil {
		t.Fatal(err)
	}
	join(t, s, far, matching.Point{Lat: 52.5219, Lon: 13.3542}, 5) // 4 km west, 6 km from near
	join(t, s, near, twoKmEast, 5)
	j = join(t, s, joiner2, alex, 5)
	if c, _ := s.Conversation(ctx, joiner2, j.ConversationID); c.PartnerID != near {
		t.Errorf("joiner2 was matched with %s, want the nearest", c.PartnerID)
	}

	// A block, either way, keeps two apart for good.
	if err := s.Block(ctx, joiner2, j.ConversationID); err != nil {
		t.Fatal(err)
	}
	if err := s.StopWaiting(ctx, far); err != nil {
		t.Fatal(err)
	}
	join(t, s, near, twoKmEast, 10)
	if j := join(t, s, joiner2, alex, 10); j.ConversationID != "" {
		t.Error("the blocker was matched again with the blocked user")
	}
	if err := s.StopWaiting(ctx, joiner2); err != nil {
		t.Fatal(err)
	}
	if err := s.StopWaiting(ctx, near); err != nil {
		t.Fatal(err)
	}
	join(t, s, joiner2, alex, 10)
	if j := join(t, s, near, twoKmEast, 10); j.ConversationID != "" {
		t.Error("the blocked user was matched with the blocker")
	}
}

func TestJoinRefusesBadInput(t *testing.T) {
	t.Parallel()
	s, _ := chattest.NewService(t, servicetest.SQLite(t))
	for _, tc := range []struct {
		at      matching.Point
		rangeKm float64
		field   string
	}{
		{matching.Point{Lat: 91, Lon: 0}, 5, "lat"},
		{matching.Point{Lat: 0, Lon: -180.5}, 5, "lon"},
		{alex, 0.05, "range"},
		{alex, 501, "range"},
	} {
		_, err := s.Join(context.Background(), newID(), tc.at, tc.rangeKm)
		ue, ok := errors.AsType[*chat.UserError](err)
		if !ok || ue.Field != tc.field {
			t.Errorf("Join(%v, %g) = %v, want a UserError about %s", tc.at, tc.rangeKm, err, tc.field)
		}
	}
}

// TestConcurrentJoinsNeverMatchTwice runs 1,000 joins at once in a small area,
// through two Services (two instances) on PostgreSQL, and one on SQLite: every
// user ends in at most one conversation, and every conversation's members are
// within both ranges.
func TestConcurrentJoinsNeverMatchTwice(t *testing.T) {
	t.Parallel()
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			db := b.Open(t)
			s1, _ := chattest.NewService(t, db)
			instances := []*chat.Service{s1}
			if db.Dialect == sqldb.Postgres {
				s2, _ := chattest.NewService(t, db)
				instances = append(instances, s2)
			}
			const n = 1000
			rng := rand.New(rand.NewPCG(1, 2))
			type joinArgs struct {
				user    string
				at      matching.Point
				rangeKm float64
			}
			args := make([]joinArgs, n)
			byUser := map[string]joinArgs{}
			for i := range args {
				args[i] = joinArgs{newID(), matching.Point{Lat: 52.5 + rng.Float64()*0.2, Lon: 13.3 + rng.Float64()*0.3}, 1 + rng.Float64()*9}
				byUser[args[i].user] = args[i]
			}
			var wg sync.WaitGroup
			errs := make(chan error, n)
			sem := make(chan struct{}, 32)
			for i, a := range args {
				wg.Go(func() {
					sem <- struct{}{}
					defer func() { <-sem }()
					if _, err := instances[i%len(instances)].Join(context.Background(), a.user, a.at, a.rangeKm); err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("a join failed: %v", err)
			}
			rows, err := db.QueryContext(context.Background(), `SELECT user_a, user_b FROM conversations`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			seen := map[string]int{}
			pairs := 0
			for rows.Next() {
				var a, b string
				if err := rows.Scan(&a, &b); err != nil {
					t.Fatal(err)
				}
				pairs++
				seen[a]++
				seen[b]++
				d := matching.Distance(byUser[a].at, byUser[b].at)
				if d > min(byUser[a].rangeKm, byUser[b].rangeKm)+1e-9 {
					t.Errorf("%s and %s matched at %.3f km, beyond a range (%.3f, %.3f)", a, b, d, byUser[a].rangeKm, byUser[b].rangeKm)
				}
			}
			for u, k := range seen {
				if k > 1 {
					t.Errorf("user %s is in %d conversations", u, k)
				}
			}
			var waiting int
			if err := db.QueryRowContext(context.Background(), `SELECT count(*) FROM waiting`).Scan(&waiting); err != nil {
				t.Fatal(err)
			}
			if 2*pairs+waiting != n {
				t.Errorf("%d pairs and %d waiting account for %d users, want %d", pairs, waiting, 2*pairs+waiting, n)
			}
			if pairs < n/4 {
				t.Errorf("only %d pairs out of %d users in a 20 km square: matching is not happening", pairs, n)
			}
		})
	}
}

// TestInstancesShareTheWaitingRoom: a user waiting through one instance is
// matched by a join through another, and a stop through the second is seen by
// the first.
func TestInstancesShareTheWaitingRoom(t *testing.T) {
	t.Parallel()
	db := servicetest.Postgres(t)
	s1, _ := chattest.NewService(t, db)
	s2, _ := chattest.NewService(t, db)
	ada, bob, cyd := newID(), newID(), newID()
	join(t, s1, ada, alex, 5)
	join(t, s1, cyd, fiftyNorth, 5)
	// cyd stops through s2; s1's index must learn it before deciding.
	if err := s2.StopWaiting(context.Background(), cyd); err != nil {
		t.Fatal(err)
	}
	j := join(t, s2, bob, twoKmEast, 5)
	c, err := s2.Conversation(context.Background(), bob, j.ConversationID)
	if err != nil || c.PartnerID != ada {
		t.Fatalf("bob through instance 2 = %+v (err %v), want matched with ada who waits through instance 1", c, err)
	}
	dan := newID()
	if j := join(t, s1, dan, fiftyNorth, 5); j.ConversationID != "" {
		t.Errorf("dan was matched through instance 1 with %s, who is no longer waiting", j.ConversationID)
	}
}

func TestSweepEndsQuietAndLongWaits(t *testing.T) {
	t.Parallel()
	db := servicetest.SQLite(t)
	s, _ := chattest.NewService(t, db)
	now := time.Now()
	s.Now = func() time.Time { return now }
	ctx := context.Background()
	quiet, alive, old := newID(), newID(), newID()
	join(t, s, quiet, alex, 1)
	join(t, s, alive, fiftyNorth, 1)
	join(t, s, old, matching.Point{Lat: 10, Lon: 10}, 1)
	now = now.Add(20 * time.Second)
	for _, u := range []string{alive, old} {
		if _, err := s.Seen(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(15 * time.Second) // quiet: 35 s without a sign, alive: 15 s
	if n, err := s.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep = %d, %v; want 1 (the quiet one)", n, err)
	}
	if st, _ := s.Status(ctx, quiet); st.Waiting {
		t.Error("the quiet user still waits")
	}
	if st, _ := s.Status(ctx, alive); !st.Waiting {
		t.Error("the user with a recent sign of life no longer waits")
	}
	// A wait ends after MaxWait, signs of life or not.
	for range 35 {
		now = now.Add(25 * time.Second)
		if _, err := s.Seen(ctx, old); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Seen(ctx, alive); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Status(ctx, old); st.Waiting {
		t.Error("a wait of more than MaxWait goes on")
	}
	// Nobody swept is matched afterwards.
	if j := join(t, s, newID(), alex, 1); j.ConversationID != "" {
		t.Error("a join was matched with a swept user")
	}
}

func TestMessages(t *testing.T) {
	t.Parallel()
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			db := b.Open(t)
			s, notes := chattest.NewService(t, db)
			ctx := context.Background()
			ada, bob, eve := newID(), newID(), newID()
			join(t, s, ada, alex, 5)
			id := join(t, s, bob, twoKmEast, 5).ConversationID

			m1, err := s.Send(ctx, ada, id, "c1", "  Hello Bob  ")
			if err != nil {
				t.Fatal(err)
			}
			if m1.Seq != 1 || m1.Text != "Hello Bob" {
				t.Errorf("first message = seq %d %q, want 1 \"Hello Bob\"", m1.Seq, m1.Text)
			}
			again, err := s.Send(ctx, ada, id, "c1", "Hello Bob")
			if err != nil || again.Seq != 1 {
				t.Errorf("a resend of c1 = seq %d, %v; want the same message (seq 1)", again.Seq, err)
			}
			m2, err := s.Send(ctx, bob, id, "c1", "Hi Ada")
			if err != nil || m2.Seq != 2 {
				t.Errorf("bob's c1 = seq %d, %v; want a new message, seq 2 (client ids are per sender)", m2.Seq, err)
			}
			list, err := s.Since(ctx, bob, id, 0, 10)
			if err != nil || len(list) != 2 || list[0].Text != "Hello Bob" || list[1].SenderID != bob {
				t.Errorf("Since(0) = %+v, %v", list, err)
			}
			if list, _ := s.Since(ctx, ada, id, 1, 10); len(list) != 1 || list[0].Seq != 2 {
				t.Errorf("Since(1) = %+v, want only seq 2", list)
			}
			delivered := 0
			for _, n := range notes.All() {
				if n.Kind == "message" {
					delivered++
				}
			}
			if delivered != 4 {
				t.Errorf("%d message notes, want 4 (two messages to two members; the resend delivers nothing)", delivered)
			}

			if _, err := s.Send(ctx, eve, id, "x", "let me in"); !errors.Is(err, chat.ErrNotFound) {
				t.Errorf("a stranger's send = %v, want ErrNotFound", err)
			}
			if _, err := s.Since(ctx, eve, id, 0, 10); !errors.Is(err, chat.ErrNotFound) {
				t.Errorf("a stranger's read = %v, want ErrNotFound", err)
			}
			for _, bad := range []string{"", "   ", string(make([]rune, 2001)), "a\x00b", "bell\x07"} {
				if _, err := s.Send(ctx, ada, id, "bad", bad); err == nil {
					t.Errorf("Send(%q) was accepted", bad)
				}
			}
			long := ""
			for range 2000 {
				long += "é"
			}
			if _, err := s.Send(ctx, ada, id, "long", long); err != nil {
				t.Errorf("a message of 2,000 characters was refused: %v", err)
			}
			for _, bad := range []string{"", "has space", string(make([]byte, 65))} {
				if _, err := s.Send(ctx, ada, id, bad, "hi"); err == nil {
					t.Errorf("client id %q was accepted", bad)
				}
			}

			if err := s.Leave(ctx, bob, id); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Send(ctx, ada, id, "c9", "still there?"); !errors.Is(err, chat.ErrEnded) {
				t.Errorf("a send after leaving = %v, want ErrEnded", err)
			}
			if err := s.Leave(ctx, ada, id); !errors.Is(err, chat.ErrEnded) {
				t.Errorf("a second leave = %v, want ErrEnded", err)
			}
			c, _ := s.Conversation(ctx, ada, id)
			if c.Active() || c.EndedByMe {
				t.Errorf("ada's view after bob left = %+v, want ended by the partner", c)
			}
			// Both may join again.
			if j := join(t, s, ada, alex, 5); j.Already {
				t.Error("ada is still held in the ended conversation")
			}
		})
	}
}

func TestConcurrentSendsGetDistinctSequenceNumbers(t *testing.T) {
	t.Parallel()
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s, _ := chattest.NewService(t, b.Open(t))
			ctx := context.Background()
			ada, bob := newID(), newID()
			join(t, s, ada, alex, 5)
			id := join(t, s, bob, twoKmEast, 5).ConversationID
			var wg sync.WaitGroup
			seqs := make([]int64, 40)
			for i := range seqs {
				wg.Go(func() {
					// Every message twice at once: the resend must not store a copy.
					from := []string{ada, bob}[i%2]
					cid := fmt.Sprintf("m%d", i)
					var inner sync.WaitGroup
					got := make([]int64, 2)
					for k := range 2 {
						inner.Go(func() {
							m, err := s.Send(ctx, from, id, cid, "hello")
							if err != nil {
								t.Error(err)
							}
							got[k] = m.Seq
						})
					}
					inner.Wait()
					if got[0] != got[1] {
						t.Errorf("two copies of %s got seq %d and %d", cid, got[0], got[1])
					}
					seqs[i] = got[0]
				})
			}
			wg.Wait()
			list, err := s.Since(ctx, ada, id, 0, 100)
			if err != nil || len(list) != 40 {
				t.Fatalf("%d messages stored (err %v), want 40", len(list), err)
			}
			for i, m := range list {
				if m.Seq != int64(i+1) {
					t.Fatalf("message %d has seq %d: the sequence has a gap or a repeat", i, m.Seq)
				}
			}
		})
	}
}

func TestSendIsRateLimitedPerUser(t *testing.T) {
	t.Parallel()
	s, _ := chattest.NewService(t, servicetest.SQLite(t))
	now := time.Now()
	s.Messages = &ratelimit.Memory{Rate: ratelimit.Rate{Burst: 3, Every: time.Second}, Now: func() time.Time { return now }}
	ctx := context.Background()
	ada, bob := newID(), newID()
	join(t, s, ada, alex, 5)
	id := join(t, s, bob, twoKmEast, 5).ConversationID
	for i := range 3 {
		if _, err := s.Send(ctx, ada, id, fmt.Sprint("m", i), "hi"); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.Send(ctx, ada, id, "m3", "hi")
	ue, ok := errors.AsType[*chat.UserError](err)
	if !ok || ue.RetryAfter != time.Second {
		t.Fatalf("the fourth message = %v, want a rate limit with a wait of 1s", err)
	}
	if _, err := s.Send(ctx, bob, id, "b0", "hi"); err != nil {
		t.Errorf("bob was limited by ada's messages: %v", err)
	}
	// A resend of a stored message is not counted.
	if _, err := s.Send(ctx, ada, id, "m0", "hi"); err != nil {
		t.Errorf("a resend was limited: %v", err)
	}
	now = now.Add(time.Second)
	if _, err := s.Send(ctx, ada, id, "m3", "hi"); err != nil {
		t.Errorf("a message a second later was limited: %v", err)
	}
}

func TestReportIsPublishedWithTheReport(t *testing.T) {
	t.Parallel()
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			db := b.Open(t)
			s, _ := chattest.NewService(t, db)
			ctx := context.Background()
			ada, bob := newID(), newID()
			join(t, s, ada, alex, 5)
			id := join(t, s, bob, twoKmEast, 5).ConversationID
			if _, err := s.Report(ctx, ada, id, "   "); err == nil {
				t.Error("an empty reason was accepted")
			}
			if _, err := s.Report(ctx, newID(), id, "spam"); !errors.Is(err, chat.ErrNotFound) {
				t.Errorf("a stranger's report = %v, want ErrNotFound", err)
			}
			reportID, err := s.Report(ctx, ada, id, "  rude  ")
			if err != nil {
				t.Fatal(err)
			}
			events, _, err := s.Outbox.Read(ctx, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != 1 || events[0].Type != contracts.TypeReportFiledV1 || events[0].Subject != reportID {
				t.Fatalf("outbox = %+v, want one chat.report.filed.v1 about %s", events, reportID)
			}
			p, err := contracts.Decode[contracts.ReportFiledV1](events[0])
			if err != nil || p.ReporterID != ada || p.ReportedUserID != bob || p.Reason != "rude" || p.ConversationID != id {
				t.Errorf("report data = %+v, %v", p, err)
			}
		})
	}
}
