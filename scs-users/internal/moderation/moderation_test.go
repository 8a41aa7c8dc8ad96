package moderation_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scs-platform/shared-events/contracts"
	"github.com/scs-platform/shared-events/eventing/consumer"
	"github.com/scs-platform/shared-events/testkit/servicetest"

	"github.com/scs-platform/scs-users/internal/accounts"
	"github.com/scs-platform/scs-users/internal/accounts/accountstest"
	"github.com/scs-platform/scs-users/internal/moderation"
)

func TestModeration(t *testing.T) {
	t.Parallel()
	for _, b := range servicetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := b.Open(t)
			acc := accountstest.NewService(t, db)
			mod := &moderation.Service{DB: db, Accounts: acc}
			signUp := func(email string) accounts.User {
				u, _, err := acc.SignUp(ctx, accounts.SignUp{Email: email, DisplayName: email[:3], Password: "correct horse battery staple"})
				if err != nil {
					t.Fatal(err)
				}
				return u
			}
			admin, mallory, ada := signUp("root@example.com"), signUp("mal@example.com"), signUp("ada@example.com")
			if err := acc.SetRole(ctx, "", admin.ID, contracts.RoleAdmin); err != nil {
				t.Fatal(err)
			}
			c := &consumer.Consumer{DB: db, Name: "users", Owner: "chat", Handlers: moderation.Handlers()}
			file := func(reportID, reported, reason string, at time.Time) {
				t.Helper()
				ev, err := contracts.NewEvent(contracts.ReportFiledV1{ReportID: reportID, ReporterID: ada.ID, ReportedUserID: reported,
					ConversationID: uuid.NewString(), Reason: reason, ReportedAt: at}, 1)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.Apply(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			t0 := time.Now().Add(-time.Hour)
			first, second, stray := uuid.NewString(), uuid.NewString(), uuid.NewString()
			file(second, mallory.ID, "again", t0.Add(time.Minute))
			file(first, mallory.ID, "rude", t0)
			// The same report under another event id (chat's relay published it
			// twice after a crash) is still one report.
			file(first, mallory.ID, "rude", t0)
			file(stray, uuid.NewString(), "someone chat knows and we do not", t0.Add(2*time.Minute))

			open, err := mod.Open(ctx, 10)
			if err != nil || len(open) != 3 || open[0].ID != first || open[1].ID != second || open[2].ID != stray {
				t.Fatalf("Open = %+v, %v; want the three reports, oldest first", open, err)
			}
			if open[0].ReportedName != "mal" || open[0].ReporterName != "ada" || open[0].ReportedStatus != contracts.StatusActive || open[2].ReportedStatus != "" {
				t.Errorf("the queue's view: %+v", open)
			}
			if err := mod.Dismiss(ctx, admin.ID, uuid.NewString()); !errors.Is(err, accounts.ErrNotFound) {
				t.Errorf("Dismiss of an unknown report: %v, want ErrNotFound", err)
			}
			if err := mod.BanReported(ctx, admin.ID, stray, "whatever"); !errors.Is(err, accounts.ErrNotFound) {
				t.Errorf("BanReported of a user unknown here: %v, want ErrNotFound", err)
			}
			if err := mod.BanReported(ctx, admin.ID, first, "Reported in chat: rude"); err != nil {
				t.Fatal(err)
			}
			if err := mod.Dismiss(ctx, admin.ID, second); !errors.Is(err, moderation.ErrResolved) {
				t.Errorf("Dismiss of a report the ban closed: %v, want ErrResolved", err)
			}
			open, err = mod.Open(ctx, 10)
			if err != nil || len(open) != 1 || open[0].ID != stray {
				t.Errorf("after the ban the queue holds %+v, %v; want only the stray report", open, err)
			}
			about, err := mod.About(ctx, mallory.ID, 10)
			if err != nil || len(about) != 2 || about[0].Status != "banned" || about[1].Status != "banned" {
				t.Errorf("reports about Mallory: %+v, %v", about, err)
			}
			if u, _ := acc.UserByID(ctx, mallory.ID); u.Status != contracts.StatusBanned {
				t.Errorf("Mallory is %s", u.Status)
			}
			if err := mod.Dismiss(ctx, admin.ID, stray); err != nil {
				t.Fatal(err)
			}
		})
	}
}
