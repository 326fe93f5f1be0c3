package console_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hookd/hookd"
)

// fakeStore is a tiny in-memory implementation of the four hookd services,
// enough to drive the console end to end. Every returned value is a copy.
type fakeStore struct {
	mu         sync.Mutex
	tenants    map[string]*hookd.Tenant
	keys       map[string]*hookd.APIKey
	webhooks   map[string]*hookd.Webhook
	events     map[string]*hookd.Event
	deliveries map[string]*hookd.Delivery

	// due, when set, is called (outside the lock) with the ID of every
	// delivery that becomes due: created by a publish, or redelivered.
	due func(id string)
}

var (
	_ hookd.TenantService   = (*fakeStore)(nil)
	_ hookd.WebhookService  = (*fakeStore)(nil)
	_ hookd.EventService    = (*fakeStore)(nil)
	_ hookd.DeliveryService = (*fakeStore)(nil)
)

func newFakeStore() *fakeStore {
	return &fakeStore{
		tenants:    map[string]*hookd.Tenant{},
		keys:       map[string]*hookd.APIKey{},
		webhooks:   map[string]*hookd.Webhook{},
		events:     map[string]*hookd.Event{},
		deliveries: map[string]*hookd.Delivery{},
	}
}

func notFound() error { return hookd.Errorf(hookd.ENOTFOUND, "Not found.") }

func (s *fakeStore) EnsureTenant(ctx context.Context, name string) (*hookd.Tenant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tenants {
		if t.Name == name {
			c := *t
			return &c, nil
		}
	}
	t := &hookd.Tenant{ID: hookd.NewID(), Name: name, CreatedAt: hookd.Now()}
	s.tenants[t.ID] = t
	c := *t
	return &c, nil
}

func (s *fakeStore) FindTenantByID(ctx context.Context, id string) (*hookd.Tenant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[id]
	if !ok {
		return nil, notFound()
	}
	c := *t
	return &c, nil
}

func (s *fakeStore) CreateAPIKey(ctx context.Context, key *hookd.APIKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[key.ID]; ok {
		return hookd.Errorf(hookd.ECONFLICT, "Key exists.")
	}
	t, ok := s.tenants[key.TenantID]
	if !ok {
		return notFound()
	}
	c := *key
	c.TenantName = t.Name
	s.keys[key.ID] = &c
	return nil
}

func (s *fakeStore) PutAPIKey(ctx context.Context, key *hookd.APIKey) error {
	s.mu.Lock()
	delete(s.keys, key.ID)
	s.mu.Unlock()
	return s.CreateAPIKey(ctx, key)
}

func (s *fakeStore) FindAPIKeyByID(ctx context.Context, id string) (*hookd.APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[id]
	if !ok {
		return nil, notFound()
	}
	c := *k
	return &c, nil
}

func (s *fakeStore) FindAPIKeys(ctx context.Context) ([]*hookd.APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []*hookd.APIKey
	for _, k := range s.keys {
		c := *k
		keys = append(keys, &c)
	}
	return keys, nil
}

func (s *fakeStore) RevokeAPIKey(ctx context.Context, id string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[id]
	if !ok {
		return notFound()
	}
	if k.RevokedAt == nil {
		k.RevokedAt = &now
	}
	return nil
}

func (s *fakeStore) FindWebhookByID(ctx context.Context, tenantID, id string) (*hookd.Webhook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.webhooks[id]
	if !ok || w.TenantID != tenantID {
		return nil, notFound()
	}
	c := *w
	return &c, nil
}

// newerFirst compares two list positions for newest-first order, (time, id)
// descending: negative when a comes first.
func newerFirst(at time.Time, aID string, bt time.Time, bID string) int {
	if c := bt.Compare(at); c != 0 {
		return c
	}
	return strings.Compare(bID, aID)
}

func (s *fakeStore) FindWebhooks(ctx context.Context, f hookd.WebhookFilter) ([]*hookd.Webhook, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []*hookd.Webhook
	for _, w := range s.webhooks {
		if w.TenantID != f.TenantID {
			continue
		}
		if a := f.Page.After; a != nil && newerFirst(w.CreatedAt, w.ID, a.Time, a.ID) <= 0 {
			continue
		}
		c := *w
		all = append(all, &c)
	}
	slices.SortFunc(all, func(a, b *hookd.Webhook) int { return newerFirst(a.CreatedAt, a.ID, b.CreatedAt, b.ID) })
	limit := f.Page.Limit
	if limit <= 0 {
		limit = 10
	}
	if len(all) > limit {
		return all[:limit], true, nil
	}
	return all, false, nil
}

func (s *fakeStore) CreateWebhook(ctx context.Context, w *hookd.Webhook) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *w
	s.webhooks[w.ID] = &c
	return nil
}

func (s *fakeStore) UpdateWebhook(ctx context.Context, tenantID, id string, upd hookd.WebhookUpdate, now time.Time) (*hookd.Webhook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.webhooks[id]
	if !ok || w.TenantID != tenantID {
		return nil, notFound()
	}
	n, err := upd.Apply(w, now)
	if err != nil {
		return nil, err
	}
	s.webhooks[id] = n
	c := *n
	return &c, nil
}

func (s *fakeStore) DeleteWebhook(ctx context.Context, tenantID, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.webhooks[id]
	if !ok || w.TenantID != tenantID {
		return notFound()
	}
	delete(s.webhooks, id)
	for did, d := range s.deliveries {
		if d.WebhookID == id {
			delete(s.deliveries, did)
		}
	}
	return nil
}

func (s *fakeStore) PublishEvents(ctx context.Context, events []*hookd.Event) ([]hookd.PublishResult, error) {
	results, due := s.publish(events)
	s.notify(due)
	return results, nil
}

// publish records events and their deliveries, and returns the IDs of the
// deliveries now due.
func (s *fakeStore) publish(events []*hookd.Event) ([]hookd.PublishResult, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var results []hookd.PublishResult
	var due []string
	for _, e := range events {
		c := *e
		s.events[e.ID] = &c
		r := hookd.PublishResult{EventID: e.ID}
		for _, w := range s.webhooks {
			if w.TenantID != e.TenantID || w.Status != hookd.WebhookEnabled || !w.Subscribes(e.Type) {
				continue
			}
			if len(e.Webhooks) > 0 && !slices.Contains(e.Webhooks, w.ID) {
				continue
			}
			at := e.CreatedAt
			d := &hookd.Delivery{ID: hookd.NewID(), TenantID: e.TenantID, WebhookID: w.ID, EventID: e.ID,
				EventType: e.Type, Status: hookd.DeliveryPending, NextAttemptAt: &at, CreatedAt: e.CreatedAt}
			s.deliveries[d.ID] = d
			due = append(due, d.ID)
			r.Deliveries++
		}
		results = append(results, r)
	}
	return results, due
}

func (s *fakeStore) notify(ids []string) {
	s.mu.Lock()
	due := s.due
	s.mu.Unlock()
	if due == nil {
		return
	}
	for _, id := range ids {
		due(id)
	}
}

// setDue sets the func told about due deliveries.
func (s *fakeStore) setDue(f func(id string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.due = f
}

func (s *fakeStore) FindEventByID(ctx context.Context, tenantID, id string) (*hookd.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.events[id]
	if !ok || e.TenantID != tenantID {
		return nil, notFound()
	}
	c := *e
	return &c, nil
}

func copyDelivery(d *hookd.Delivery) *hookd.Delivery {
	c := *d
	c.Attempts = slices.Clone(d.Attempts)
	return &c
}

func (s *fakeStore) FindDeliveryByID(ctx context.Context, tenantID, id string) (*hookd.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.deliveries[id]
	if !ok || d.TenantID != tenantID {
		return nil, notFound()
	}
	return copyDelivery(d), nil
}

func (s *fakeStore) FindDeliveries(ctx context.Context, f hookd.DeliveryFilter) ([]*hookd.Delivery, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []*hookd.Delivery
	for _, d := range s.deliveries {
		switch {
		case d.TenantID != f.TenantID,
			f.WebhookID != "" && d.WebhookID != f.WebhookID,
			f.EventID != "" && d.EventID != f.EventID,
			f.EventType != "" && d.EventType != f.EventType,
			f.Status != "" && d.Status != f.Status,
			f.CreatedFrom != nil && d.CreatedAt.Before(*f.CreatedFrom),
			f.CreatedTo != nil && d.CreatedAt.After(*f.CreatedTo):
			continue
		}
		if a := f.Page.After; a != nil && newerFirst(d.CreatedAt, d.ID, a.Time, a.ID) <= 0 {
			continue
		}
		all = append(all, copyDelivery(d))
	}
	slices.SortFunc(all, func(a, b *hookd.Delivery) int { return newerFirst(a.CreatedAt, a.ID, b.CreatedAt, b.ID) })
	limit := f.Page.Limit
	if limit <= 0 {
		limit = 10
	}
	if len(all) > limit {
		return all[:limit], true, nil
	}
	return all, false, nil
}

func (s *fakeStore) RedeliverDelivery(ctx context.Context, tenantID, id string, now time.Time) (*hookd.Delivery, error) {
	s.mu.Lock()
	d, ok := s.deliveries[id]
	if !ok || d.TenantID != tenantID {
		s.mu.Unlock()
		return nil, notFound()
	}
	d.Status, d.NextAttemptAt, d.RetryBase = hookd.DeliveryPending, &now, d.AttemptCount
	c := copyDelivery(d)
	s.mu.Unlock()
	s.notify([]string{id})
	return c, nil
}

func (s *fakeStore) RecoverDeliveries(ctx context.Context, tenantID, webhookID string, since, now time.Time) (int, error) {
	s.mu.Lock()
	w, ok := s.webhooks[webhookID]
	if !ok || w.TenantID != tenantID {
		s.mu.Unlock()
		return 0, notFound()
	}
	var ids []string
	for _, d := range s.deliveries {
		if d.WebhookID == webhookID && d.Status == hookd.DeliveryFailed && !d.CreatedAt.Before(since) {
			d.Status, d.NextAttemptAt, d.RetryBase = hookd.DeliveryPending, &now, d.AttemptCount
			ids = append(ids, d.ID)
		}
	}
	s.mu.Unlock()
	s.notify(ids)
	return len(ids), nil
}

func (s *fakeStore) ClaimDeliveries(ctx context.Context, req hookd.ClaimRequest) ([]*hookd.Task, error) {
	return nil, nil
}

func (s *fakeStore) CompleteDeliveries(ctx context.Context, results []hookd.AttemptResult) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range results {
		d, ok := s.deliveries[r.DeliveryID]
		if !ok {
			continue
		}
		d.Attempts = append(d.Attempts, r.Attempt)
		d.AttemptCount = len(d.Attempts)
		d.Status = r.Status
		started := r.Attempt.StartedAt
		d.LastAttemptAt = &started
		d.NextAttemptAt = nil
		if r.Status == hookd.DeliveryPending {
			next := r.NextAttemptAt
			d.NextAttemptAt = &next
		}
		if w, ok := s.webhooks[r.WebhookID]; ok {
			w.LastSentAt = &started
		}
	}
	return nil
}

func (s *fakeStore) DeleteDeliveriesBefore(ctx context.Context, t time.Time) (int, error) {
	return 0, nil
}

func (s *fakeStore) QueueStats(ctx context.Context, now time.Time) (hookd.QueueStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var q hookd.QueueStats
	for _, d := range s.deliveries {
		if d.Status != hookd.DeliveryPending {
			continue
		}
		q.Pending++
		if d.NextAttemptAt != nil && !d.NextAttemptAt.After(now) {
			q.Due++
			if q.OldestDue == nil || d.NextAttemptAt.Before(*q.OldestDue) {
				t := *d.NextAttemptAt
				q.OldestDue = &t
			}
		}
	}
	return q, nil
}

// addTenant creates a tenant with one API key and returns the key's id and
// secret.
func (s *fakeStore) addTenant(name string) (tenantID, keyID, secret string) {
	t, _ := s.EnsureTenant(context.Background(), name)
	key, secret := hookd.NewAPIKey(t.ID)
	if err := s.CreateAPIKey(context.Background(), key); err != nil {
		panic(err)
	}
	return t.ID, key.ID, secret
}

// addWebhook stores an enabled webhook for the tenant.
func (s *fakeStore) addWebhook(tenantID, name, url string, events ...string) *hookd.Webhook {
	now := hookd.Now()
	w := &hookd.Webhook{ID: hookd.NewID(), TenantID: tenantID, Name: name, URL: url, Events: events,
		Secret: "whsec-test-secret", Status: hookd.WebhookEnabled, CreatedAt: now, UpdatedAt: now}
	if err := w.Validate(); err != nil {
		panic(err)
	}
	_ = s.CreateWebhook(context.Background(), w)
	return w
}

// addDelivery publishes a sample event of type t to the tenant's webhook,
// without telling the sender, and records one attempt with the given status
// code, returning the delivery.
func (s *fakeStore) addDelivery(w *hookd.Webhook, t string, code int) *hookd.Delivery {
	ctx := context.Background()
	e, err := hookd.SampleEvent(t, hookd.Now())
	if err != nil {
		panic(err)
	}
	e.ID, e.TenantID, e.CreatedAt, e.Webhooks = hookd.NewID(), w.TenantID, hookd.Now(), []string{w.ID}
	s.publish([]*hookd.Event{e})
	ds, _, _ := s.FindDeliveries(ctx, hookd.DeliveryFilter{TenantID: w.TenantID, EventID: e.ID, Page: hookd.Page{Limit: 1}})
	d := ds[0]
	status, errText := hookd.DeliverySucceeded, ""
	if code < 200 || code > 299 {
		status, errText = hookd.DeliveryFailed, "unexpected status"
	}
	_ = s.CompleteDeliveries(ctx, []hookd.AttemptResult{{DeliveryID: d.ID, WebhookID: w.ID, Status: status,
		Attempt: hookd.Attempt{Number: 1, StartedAt: hookd.Now(), StatusCode: code, Latency: 12 * time.Millisecond,
			ResponseBody: `{"ok":true}`, Error: errText}}})
	d, _ = s.FindDeliveryByID(ctx, w.TenantID, d.ID)
	return d
}
