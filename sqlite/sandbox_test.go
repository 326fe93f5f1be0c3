package sqlite_test

import (
	"context"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sandbox"
	"github.com/hookd/hookd/sandbox/sandboxtest"
	"github.com/hookd/hookd/sqlite"
)

func TestSandboxStore(t *testing.T) {
	sandboxtest.Run(t, func(t *testing.T) sandbox.Store {
		return sqlite.NewSandboxStore(MustOpenDB(t))
	})
}

func TestSandboxStore_Simulator(t *testing.T) {
	sandboxtest.RunSimulator(t, func(t *testing.T) sandbox.Store {
		return sqlite.NewSandboxStore(MustOpenDB(t))
	})
}

func TestSandboxStore_FindActivityByID(t *testing.T) {
	sandboxtest.RunActivityFinder(t, func(t *testing.T) sandbox.Store {
		return sqlite.NewSandboxStore(MustOpenDB(t))
	})
}

// BenchmarkSandboxConnect measures a connect of 1000 activities through the
// Simulator: the account, its history and the event sequence's summaries.
func BenchmarkSandboxConnect(b *testing.B) {
	store := sqlite.NewSandboxStore(MustOpenDB(b))
	sim := &sandbox.Simulator{Store: store, Events: discardEvents{}}
	n := 1000
	b.ResetTimer()
	for b.Loop() {
		if _, err := sim.Connect(context.Background(), "t", sandbox.ConnectRequest{Activities: &n}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSandboxActivityPage measures the guide's query: one page of 200
// of an account's activities in a date range.
func BenchmarkSandboxActivityPage(b *testing.B) {
	ctx := context.Background()
	store := sqlite.NewSandboxStore(MustOpenDB(b))
	sim := &sandbox.Simulator{Store: store, Events: discardEvents{}}
	n := 5000
	var acct *sandbox.Account
	for range 4 {
		a, err := sim.Connect(ctx, "t", sandbox.ConnectRequest{Activities: &n})
		if err != nil {
			b.Fatal(err)
		}
		acct = a
	}
	from, to := acct.Availability.Activities.AvailableFrom.Time, acct.Availability.Activities.AvailableTo.Time
	b.ResetTimer()
	for b.Loop() {
		as, count, err := store.FindActivities(ctx, sandbox.ActivityFilter{TenantID: "t", Account: acct.ID, FromStartDate: &from, ToStartDate: &to, Limit: 200, Offset: 1000})
		if err != nil || len(as) != 200 || count != n {
			b.Fatalf("page: %d of %d, %v", len(as), count, err)
		}
	}
}

type discardEvents struct{ hookd.EventService }

func (discardEvents) PublishEvents(ctx context.Context, es []*hookd.Event) ([]hookd.PublishResult, error) {
	return make([]hookd.PublishResult, len(es)), nil
}
