package sandbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/hookd/hookd/sandbox"
	"github.com/hookd/hookd/sandbox/sandboxtest"
)

func TestMemStore(t *testing.T) {
	t.Parallel()
	open := func(t *testing.T) sandbox.Store { return sandbox.NewMemStore() }
	sandboxtest.Run(t, open)
	t.Run("Simulator", func(t *testing.T) { sandboxtest.RunSimulator(t, open) })
}

// TestMemStore_Copies checks that callers never share objects with the
// store (a SQL store gets this for free).
func TestMemStore_Copies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := sandbox.NewMemStore()
	g := sandbox.NewGenerator(9)
	now := time.Now()
	u := g.User(now)
	if err := s.CreateUser(ctx, "t", u); err != nil {
		t.Fatal(err)
	}
	ds := g.Generate(now, u.ID, sandbox.LookupEmployer("uber"), 10, 1)
	if err := s.CreateAccount(ctx, "t", ds.Account); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateActivities(ctx, "t", ds.Activities); err != nil {
		t.Fatal(err)
	}
	ds.Activities[0].Employer = "changed by the caller"
	got, _, _ := s.FindActivities(ctx, sandbox.ActivityFilter{TenantID: "t"})
	if got[0].Employer != "Uber" {
		t.Errorf("stored employer = %q after the caller changed its copy, want Uber", got[0].Employer)
	}
	got[0].Employer = "changed again"
	again, _, _ := s.FindActivities(ctx, sandbox.ActivityFilter{TenantID: "t"})
	if again[0].Employer != "Uber" {
		t.Errorf("stored employer = %q after the caller changed a result, want Uber", again[0].Employer)
	}
}
