package sandbox_test

import (
	"context"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sandbox"
)

// BenchmarkConnect measures a connect of the largest size allowed.
func BenchmarkConnect(b *testing.B) {
	ctx := context.Background()
	sim := &sandbox.Simulator{
		Store:    sandbox.NewMemStore(),
		Events:   &eventService{},
		Webhooks: &webhookService{webhooks: []*hookd.Webhook{webhook(tenant, "w", nil, hookd.WebhookEnabled, "*")}},
	}
	for b.Loop() {
		if _, err := sim.Connect(ctx, tenant, sandbox.ConnectRequest{Days: intp(3650), Activities: intp(sandbox.MaxActivities)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefresh measures a refresh of an account with 10,000 activities.
func BenchmarkRefresh(b *testing.B) {
	ctx := context.Background()
	sim := &sandbox.Simulator{Store: sandbox.NewMemStore(), Events: &eventService{}, Webhooks: &webhookService{}}
	acct, err := sim.Connect(ctx, tenant, sandbox.ConnectRequest{Activities: intp(sandbox.MaxActivities)})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := sim.Refresh(ctx, tenant, acct.ID, sandbox.RefreshRequest{Added: 10, Updated: 10, Removed: 10}); err != nil {
			b.Fatal(err)
		}
	}
}
