package main

import (
	"context"

	"github.com/hookd/hookd/sandbox"
)

// consoleSandbox lets the console's one-click controls drive the simulator.
type consoleSandbox struct{ sim *sandbox.Simulator }

// Connect connects a simulated account; zero days or activities take the
// simulator's defaults.
func (c consoleSandbox) Connect(ctx context.Context, tenantID, employer string, days, activities int, fail bool) (string, error) {
	req := sandbox.ConnectRequest{Employer: employer, Fail: fail}
	if days > 0 {
		req.Days = &days
	}
	if activities > 0 {
		req.Activities = &activities
	}
	a, err := c.sim.Connect(ctx, tenantID, req)
	if err != nil {
		return "", err
	}
	return a.ID, nil
}

// Refresh refreshes a simulated account.
func (c consoleSandbox) Refresh(ctx context.Context, tenantID, accountID string, added, updated, removed int) error {
	_, err := c.sim.Refresh(ctx, tenantID, accountID, sandbox.RefreshRequest{Added: added, Updated: updated, Removed: removed})
	return err
}

// Remove removes a simulated account and its data.
func (c consoleSandbox) Remove(ctx context.Context, tenantID, accountID string) error {
	return c.sim.Remove(ctx, tenantID, accountID)
}
