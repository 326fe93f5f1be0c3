package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/hookd/hookd"
)

// runTrigger is `hookd trigger EVENT`: it publishes a realistic sample of
// the event for a tenant, to every subscribed webhook or to one, through the
// same database a running server delivers from.
func runTrigger(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("trigger", "trigger EVENT [--webhook ID] [--tenant NAME] [--db PATH]", stderr)
	var dbPath, tenantName, webhookID string
	dbFlag(fs, &dbPath)
	fs.StringVar(&tenantName, "tenant", SandboxTenant, "tenant to publish for")
	fs.StringVar(&webhookID, "webhook", "", "send only to this webhook (it must subscribe to EVENT)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("trigger: give exactly one event type, e.g. accounts.added (see hookd trigger --help)")
	}
	eventType := rest[0]
	if _, ok := hookd.LookupEvent(eventType); !ok {
		var names []string
		for _, et := range hookd.Catalog {
			names = append(names, et.Name)
		}
		return usagef("trigger: unknown event %q; one of:\n  %s", eventType, strings.Join(names, "\n  "))
	}

	db, err := OpenStore(dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	tenant, err := db.Tenants.EnsureTenant(ctx, tenantName)
	if err != nil {
		return fmt.Errorf("find tenant: %w", err)
	}
	e, err := hookd.SampleEvent(eventType, hookd.Now())
	if err != nil {
		return err
	}
	e.ID, e.TenantID, e.CreatedAt = hookd.NewID(), tenant.ID, hookd.Now()
	if webhookID != "" {
		w, err := db.Webhooks.FindWebhookByID(ctx, tenant.ID, webhookID)
		if hookd.ErrorCode(err) == hookd.ENOTFOUND {
			return fmt.Errorf("tenant %q has no webhook %s", tenantName, webhookID)
		} else if err != nil {
			return fmt.Errorf("find webhook: %w", err)
		}
		if !w.Subscribes(eventType) {
			return fmt.Errorf("webhook %s (%q) does not subscribe to %s; it subscribes to %s", w.ID, w.Name, eventType, strings.Join(w.Events, ", "))
		}
		e.Webhooks = []string{w.ID}
	}
	res, err := hookd.PublishEvent(ctx, db.Events, e)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	fmt.Fprintf(stdout, "Published %s (event %s) to %d webhook(s) of tenant %q.\n", eventType, res.EventID, res.Deliveries, tenantName)
	if res.Deliveries == 0 {
		fmt.Fprintln(stdout, "No enabled webhook subscribes to it; create one first (see README).")
	}
	return nil
}
