package deliver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// memStore is an in-memory hookd.DeliveryService with the semantics the
// worker relies on: claims lease, completions record attempts and update
// the webhook.
type memStore struct {
	mu         sync.Mutex
	webhooks   map[string]*hookd.Webhook
	events     map[string]*hookd.Event
	deliveries map[string]*hookd.Delivery
	// queues holds each webhook's deliveries, oldest first; first[id]
	// indexes its oldest unfinished one.
	queues    map[string][]*hookd.Delivery
	first     map[string]int
	seq       map[string]int // publish order of each delivery
	claims    []hookd.ClaimRequest
	claimedAt map[string]int // claims per delivery
	completed int
	// completeErr, when set, fails CompleteDeliveries.
	completeErr error
	// completeGate, when set, holds CompleteDeliveries until it is closed;
	// writes records the size of each batch written.
	completeGate chan struct{}
	writes       []int
	// parked holds the parked deliveries of parked webhooks (see
	// parkingStore), oldest first.
	parked map[string][]*hookd.Delivery
}

var _ hookd.DeliveryService = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{
		webhooks:   make(map[string]*hookd.Webhook),
		events:     make(map[string]*hookd.Event),
		deliveries: make(map[string]*hookd.Delivery),
		claimedAt:  make(map[string]int),
		queues:     make(map[string][]*hookd.Delivery),
		first:      make(map[string]int),
		seq:        make(map[string]int),
	}
}

// addWebhook stores w with an ID, name and enabled status unless set.
func (s *memStore) addWebhook(w *hookd.Webhook) *hookd.Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.ID == "" {
		w.ID = hookd.NewID()
	}
	if w.Name == "" {
		w.Name = "test webhook"
	}
	if w.Status == "" {
		w.Status = hookd.WebhookEnabled
	}
	if w.Events == nil {
		w.Events = []string{hookd.Wildcard}
	}
	c := *w
	s.webhooks[w.ID] = &c
	return w
}

// publish adds an event of type typ with data (and resource) and a pending
// delivery of it to webhook wh, due at due.
func (s *memStore) publish(wh *hookd.Webhook, typ, data, resource string, due time.Time) *hookd.Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := &hookd.Event{ID: hookd.NewID(), Type: typ, Data: json.RawMessage(data), CreatedAt: due}
	if resource != "" {
		e.Resource = json.RawMessage(resource)
	}
	s.events[e.ID] = e
	d := &hookd.Delivery{
		ID:            hookd.NewID(),
		WebhookID:     wh.ID,
		EventID:       e.ID,
		EventType:     typ,
		Status:        hookd.DeliveryPending,
		NextAttemptAt: &due,
		CreatedAt:     due,
	}
	if q, ok := s.parked[wh.ID]; ok {
		s.parked[wh.ID] = append(q, d)
		return d
	}
	s.deliveries[d.ID] = d
	s.queues[wh.ID] = append(s.queues[wh.ID], d)
	s.seq[d.ID] = len(s.seq)
	return d
}

// parkingStore is a memStore that parks deliveries (hookd.DeliveryParker)
// and records the worker's calls.
type parkingStore struct {
	*memStore
	calls []string // "park ID", "unpark ID", "unpark N of ID"
}

var _ hookd.DeliveryParker = (*parkingStore)(nil)

func (s *parkingStore) ParkWebhook(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, "park "+id)
	if s.parked == nil {
		s.parked = make(map[string][]*hookd.Delivery)
	}
	if _, ok := s.parked[id]; !ok {
		s.parked[id] = []*hookd.Delivery{}
	}
}

func (s *parkingStore) UnparkWebhook(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, "unpark "+id)
	s.unparkLocked(id, len(s.parked[id]))
	delete(s.parked, id)
}

func (s *parkingStore) UnparkDeliveries(ctx context.Context, id string, n int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, fmt.Sprintf("unpark %d of %s", n, id))
	return s.unparkLocked(id, n), nil
}

func (s *parkingStore) unparkLocked(id string, n int) int {
	q := s.parked[id]
	n = min(n, len(q))
	for _, d := range q[:n] {
		s.deliveries[d.ID] = d
		s.queues[id] = append(s.queues[id], d)
		s.seq[d.ID] = len(s.seq)
	}
	if _, ok := s.parked[id]; ok {
		s.parked[id] = q[n:]
	}
	return n
}

// callLog returns the worker's calls so far.
func (s *parkingStore) callLog() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// update changes a stored delivery.
func (s *memStore) update(id string, f func(d *hookd.Delivery)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.deliveries[id])
}

// delivery returns a copy of a stored delivery with its attempts.
func (s *memStore) delivery(id string) hookd.Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := *s.deliveries[id]
	d.Attempts = slices.Clone(d.Attempts)
	return d
}

// webhook returns a copy of a stored webhook.
func (s *memStore) webhook(id string) hookd.Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.webhooks[id]
}

// lastClaim returns the latest claim request.
func (s *memStore) lastClaim() hookd.ClaimRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.claims[len(s.claims)-1]
}

// countStatus counts deliveries of webhook (any when "") with status.
func (s *memStore) countStatus(webhook, status string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, d := range s.deliveries {
		if (webhook == "" || d.WebhookID == webhook) && d.Status == status {
			n++
		}
	}
	return n
}

func (s *memStore) ClaimDeliveries(ctx context.Context, req hookd.ClaimRequest) ([]*hookd.Task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.claims = append(s.claims, req)
	var due []*hookd.Delivery
	for id, q := range s.queues {
		if slices.Contains(req.ExcludeWebhooks, id) {
			continue
		}
		i := s.first[id]
		for i < len(q) && q[i].Status != hookd.DeliveryPending {
			i++
		}
		s.first[id] = i
		n := 0
		for _, d := range q[i:] {
			if n >= req.Limit {
				break
			}
			if d.Status == hookd.DeliveryPending && !d.NextAttemptAt.After(req.Now) {
				due = append(due, d)
				n++
			}
		}
	}
	slices.SortFunc(due, func(a, b *hookd.Delivery) int {
		if c := a.NextAttemptAt.Compare(*b.NextAttemptAt); c != 0 {
			return c
		}
		return s.seq[a.ID] - s.seq[b.ID]
	})
	due = due[:min(len(due), req.Limit)]
	tasks := make([]*hookd.Task, 0, len(due))
	lease := req.Now.Add(req.Lease)
	for _, d := range due {
		d.NextAttemptAt = &lease
		s.claimedAt[d.ID]++
		dc, wc, ec := *d, *s.webhooks[d.WebhookID], *s.events[d.EventID]
		dc.Attempts = nil
		tasks = append(tasks, &hookd.Task{Delivery: &dc, Webhook: &wc, Event: &ec})
	}
	return tasks, nil
}

func (s *memStore) CompleteDeliveries(ctx context.Context, results []hookd.AttemptResult) error {
	s.mu.Lock()
	gate := s.completeGate
	s.mu.Unlock()
	if gate != nil {
		<-gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.completeErr != nil {
		return s.completeErr
	}
	s.writes = append(s.writes, len(results))
	for _, r := range results {
		d := s.deliveries[r.DeliveryID]
		if d == nil {
			continue
		}
		s.completed++
		d.Attempts = append(d.Attempts, r.Attempt)
		d.AttemptCount++
		d.Status = r.Status
		started := r.Attempt.StartedAt
		d.LastAttemptAt = &started
		d.NextAttemptAt = nil
		if r.Status == hookd.DeliveryPending {
			next := r.NextAttemptAt
			d.NextAttemptAt = &next
		}
		w := s.webhooks[d.WebhookID]
		w.LastSentAt = &started
		if r.Status == hookd.DeliverySucceeded {
			w.FailingSince = nil
		} else if w.FailingSince == nil {
			w.FailingSince = &started
		}
		if r.DisableWebhook != "" {
			w.Status, w.DisabledReason = hookd.WebhookDisabled, r.DisableWebhook
		}
	}
	return nil
}

func (s *memStore) QueueStats(ctx context.Context, now time.Time) (hookd.QueueStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var qs hookd.QueueStats
	for _, d := range s.deliveries {
		if d.Status != hookd.DeliveryPending {
			continue
		}
		qs.Pending++
		if !d.NextAttemptAt.After(now) {
			qs.Due++
			if qs.OldestDue == nil || d.NextAttemptAt.Before(*qs.OldestDue) {
				t := *d.NextAttemptAt
				qs.OldestDue = &t
			}
		}
	}
	return qs, nil
}

var errNotImplemented = errors.New("not implemented by memStore")

func (s *memStore) FindDeliveryByID(ctx context.Context, tenantID, id string) (*hookd.Delivery, error) {
	return nil, errNotImplemented
}

func (s *memStore) FindDeliveries(ctx context.Context, filter hookd.DeliveryFilter) ([]*hookd.Delivery, bool, error) {
	return nil, false, errNotImplemented
}

func (s *memStore) RedeliverDelivery(ctx context.Context, tenantID, id string, now time.Time) (*hookd.Delivery, error) {
	return nil, errNotImplemented
}

func (s *memStore) RecoverDeliveries(ctx context.Context, tenantID, webhookID string, since, now time.Time) (int, error) {
	return 0, errNotImplemented
}

func (s *memStore) DeleteDeliveriesBefore(ctx context.Context, t time.Time) (int, error) {
	return 0, errNotImplemented
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: hookd.Truncate(t)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// waitFor polls cond until it holds, failing the test after 15 s.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
