package hookd

import (
	"context"
	"fmt"
	"time"
)

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
)

// MaxResponseBody is how much of a receiver's response body an attempt keeps.
const MaxResponseBody = 64 << 10

// Delivery carries one event to one webhook, over one or more attempts. Its ID
// is the Standard Webhooks webhook-id: stable across retries and redelivery.
type Delivery struct {
	ID        string
	TenantID  string
	WebhookID string
	EventID   string
	EventType string
	Status    string
	// AttemptCount is the number of attempts made so far.
	AttemptCount int
	// RetryBase is AttemptCount when the current run of the retry schedule
	// began: 0, or the count at the last redelivery. The schedule's position
	// is AttemptCount - RetryBase.
	RetryBase int
	// NextAttemptAt is when the next attempt is due; nil unless pending.
	// While an attempt is in flight it holds the claim's lease expiry.
	NextAttemptAt *time.Time
	CreatedAt     time.Time
	LastAttemptAt *time.Time
	// Attempts, oldest first. Filled by FindDeliveryByID and FindDeliveries.
	Attempts []Attempt
}

// Attempt records one try at a delivery.
type Attempt struct {
	// Number counts from 1 for each delivery.
	Number    int
	StartedAt time.Time
	// StatusCode is the response status, 0 when no response arrived.
	StatusCode int
	// Latency is from the start of the request to the end of the response
	// body (or the failure).
	Latency time.Duration
	// ResponseBody is the start of the response body, at most MaxResponseBody bytes.
	ResponseBody string
	// Error says why the attempt failed when it did not get a 2xx ("" on
	// success): a connect error, a timeout, "redirect not followed", ….
	Error string
}

// Task is a claimed delivery with everything needed to send it.
type Task struct {
	Delivery *Delivery
	Webhook  *Webhook
	Event    *Event
}

// ClaimRequest asks for due deliveries.
type ClaimRequest struct {
	// Now is the current time: deliveries due at or before it are claimed.
	Now time.Time
	// Limit is the most deliveries to claim.
	Limit int
	// Lease is how long the claim holds: no other claim takes the delivery
	// before Now+Lease, which is what its NextAttemptAt reads meanwhile.
	// If its worker dies before completing it, it is claimed again when the
	// lease runs out (PostgreSQL keeps leases in the database, for every
	// node), or at once when the one process that delivers from a SQLite
	// file, which keeps them in memory, restarts.
	Lease time.Duration
	// ExcludeWebhooks are webhooks the worker cannot take more work for now
	// (their concurrency is used up, or their breaker is open).
	ExcludeWebhooks []string
	// Blocked are those of ExcludeWebhooks that will stay excluded for a
	// while: their breaker is not closed, or their endpoint has stalled. A
	// store may step over their due deliveries once, instead of avoiding
	// them on every claim, as long as it finds them again when a claim no
	// longer excludes them.
	Blocked []string
}

// AttemptResult is the outcome of one attempt, to be recorded.
type AttemptResult struct {
	DeliveryID string
	WebhookID  string
	Attempt    Attempt
	// Status is the delivery's status after this attempt: DeliverySucceeded,
	// DeliveryFailed (no retries left), or DeliveryPending (retry at
	// NextAttemptAt).
	Status        string
	NextAttemptAt time.Time
	// DisableWebhook, when set, disables the webhook with this reason
	// (DisabledGone, DisabledFailing).
	DisableWebhook string
}

// DeliveryFilter selects a tenant's deliveries for the delivery log, newest
// first. Empty fields do not filter.
type DeliveryFilter struct {
	TenantID  string
	WebhookID string
	EventID   string
	EventType string
	Status    string
	// CreatedFrom and CreatedTo bound created_at, both inclusive.
	CreatedFrom, CreatedTo *time.Time
	Page                   Page
}

// QueueStats describes the work waiting to be delivered.
type QueueStats struct {
	// Pending counts pending deliveries, due or not.
	Pending int64
	// Due counts pending deliveries due now.
	Due int64
	// OldestDue is the due time of the longest-waiting due delivery; nil
	// when none is due.
	OldestDue *time.Time
}

// DeliveryService stores deliveries and their attempts, and is the queue the
// delivery worker draws from.
type DeliveryService interface {
	// FindDeliveryByID returns the tenant's delivery with its attempts.
	// Returns ENOTFOUND if it does not exist or belongs to another tenant.
	FindDeliveryByID(ctx context.Context, tenantID, id string) (*Delivery, error)

	// FindDeliveries returns up to filter.Page.Limit deliveries, newest
	// first, each with its attempts, and whether more exist beyond the
	// page in the direction it was read.
	FindDeliveries(ctx context.Context, filter DeliveryFilter) ([]*Delivery, bool, error)

	// RedeliverDelivery makes the tenant's delivery pending and due at now,
	// restarting the retry schedule (RetryBase = AttemptCount), and
	// returns it. Returns ENOTFOUND if it does not exist.
	RedeliverDelivery(ctx context.Context, tenantID, id string, now time.Time) (*Delivery, error)

	// RecoverDeliveries redelivers, as RedeliverDelivery does, every failed
	// delivery of the tenant's webhook created at or after since, and
	// returns how many. Returns ENOTFOUND if the webhook does not exist.
	RecoverDeliveries(ctx context.Context, tenantID, webhookID string, since, now time.Time) (int, error)

	// ClaimDeliveries atomically claims up to req.Limit pending deliveries
	// due at req.Now, setting their NextAttemptAt to req.Now+req.Lease. No
	// delivery is returned to two claimers while its lease holds. Claims
	// are fair: the first claim of a store, and at least one every few tens
	// of milliseconds after, shares itself out across the tenants with due
	// work and, within each, across its webhooks, each giving its oldest due
	// deliveries, so no backlog starves another tenant or webhook. Capacity
	// left over, and the claims in between, go to the oldest due first.
	ClaimDeliveries(ctx context.Context, req ClaimRequest) ([]*Task, error)

	// CompleteDeliveries records each result in one transaction: appends
	// the attempt, sets the delivery's status, AttemptCount,
	// LastAttemptAt and NextAttemptAt (nil unless pending); and on the
	// webhook sets LastSentAt, clears FailingSince on success or sets it
	// (if unset) on failure, and disables it if DisableWebhook is set.
	// Results for deliveries that no longer exist are ignored. It keeps
	// nothing of results once it returns: the worker reuses the slice.
	CompleteDeliveries(ctx context.Context, results []AttemptResult) error

	// DeleteDeliveriesBefore deletes finished (succeeded or failed)
	// deliveries created before t, with their attempts, and events created
	// before t that are left with no deliveries. Returns how many
	// deliveries it deleted.
	DeleteDeliveriesBefore(ctx context.Context, t time.Time) (int, error)

	// QueueStats reports the queue at now, across tenants.
	QueueStats(ctx context.Context, now time.Time) (QueueStats, error)
}

// DeliveryParker is implemented by a DeliveryService that can hold the new
// deliveries of a webhook whose endpoint is down more cheaply than as
// pending deliveries: parked. The worker parks a webhook while its circuit
// breaker is open or its attempts have stalled, so that a dead endpoint's
// traffic costs the store little while healthy webhooks' deliveries flow.
//
// A parked delivery counts in PublishResult.Deliveries and in
// QueueStats.Pending, is never claimed, and becomes an ordinary pending
// delivery, due at its creation, once its webhook is unparked, when
// UnparkDeliveries takes it, when FindDeliveries reads its tenant's
// deliveries (which sees every delivery published before it), or after the
// store is opened again. Parking lasts as long as the process.
// ParkWebhook and UnparkWebhook must not block: the worker calls them
// holding its lock.
type DeliveryParker interface {
	// ParkWebhook makes later publishes park the webhook's new deliveries.
	ParkWebhook(webhookID string)

	// UnparkWebhook stops parking the webhook's new deliveries and turns
	// those parked into pending deliveries, in the background.
	UnparkWebhook(webhookID string)

	// UnparkDeliveries turns up to n of the webhook's oldest parked
	// deliveries into pending deliveries now, for a probe of its endpoint,
	// and returns how many; the webhook stays parked.
	UnparkDeliveries(ctx context.Context, webhookID string, n int) (int, error)
}

// SendTest publishes a realistic sample of the first event w subscribes to
// (accounts.added for "*") to w alone, waits until its first attempt is
// recorded or ctx ends, and returns the delivery as it then stands. The
// ordinary worker makes the attempt, so a test send is signed, limited and
// recorded like any other delivery.
func SendTest(ctx context.Context, es EventService, ds DeliveryService, w *Webhook, now time.Time) (*Delivery, error) {
	t := "accounts.added"
	if len(w.Events) > 0 && w.Events[0] != Wildcard {
		t = w.Events[0]
	}
	e, err := SampleEvent(t, now)
	if err != nil {
		return nil, err
	}
	e.ID, e.TenantID, e.CreatedAt, e.Webhooks = NewID(), w.TenantID, Truncate(now), []string{w.ID}
	if _, err := PublishEvent(ctx, es, e); err != nil {
		return nil, fmt.Errorf("publish test event: %w", err)
	}
	var last *Delivery
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		ds, _, err := ds.FindDeliveries(ctx, DeliveryFilter{TenantID: w.TenantID, WebhookID: w.ID, EventID: e.ID, Page: Page{Limit: 1}})
		if err != nil {
			return nil, fmt.Errorf("find test delivery: %w", err)
		}
		if len(ds) == 0 {
			return nil, Errorf(ECONFLICT, "The webhook is disabled or does not subscribe to %s; nothing was sent.", t)
		}
		last = ds[0]
		if last.AttemptCount > 0 {
			return last, nil
		}
		select {
		case <-ctx.Done():
			return last, nil
		case <-time.After(wait):
		}
	}
}
