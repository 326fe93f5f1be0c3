package sandboxtest

import (
	"context"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sandbox"
)

// RunActivityFinder checks a store's FindActivityByID against stores from
// open: it returns the stored activity exactly, and ENOTFOUND for a
// missing, deleted or other tenant's one.
func RunActivityFinder(t *testing.T, open func(t *testing.T) sandbox.Store) {
	ctx := context.Background()
	s := open(t)
	f, ok := s.(sandbox.ActivityFinder)
	if !ok {
		t.Fatalf("%T does not implement sandbox.ActivityFinder", s)
	}
	g := sandbox.NewGenerator(8)
	a := mustConnect(t, s, g, tenant, nil, "uber", 30, 5)
	want := a.Activities[2]
	got, err := f.FindActivityByID(ctx, tenant, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mustJSON(t, got) != mustJSON(t, want) {
		t.Errorf("FindActivityByID got\n%s\nwant\n%s", mustJSON(t, got), mustJSON(t, want))
	}
	_, err = f.FindActivityByID(ctx, "tenant-b", want.ID)
	wantCode(t, err, hookd.ENOTFOUND)
	_, err = f.FindActivityByID(ctx, tenant, "00000000-0000-4000-8000-000000000000")
	wantCode(t, err, hookd.ENOTFOUND)
	if err := s.DeleteActivities(ctx, tenant, []string{want.ID}); err != nil {
		t.Fatal(err)
	}
	_, err = f.FindActivityByID(ctx, tenant, want.ID)
	wantCode(t, err, hookd.ENOTFOUND)
}
