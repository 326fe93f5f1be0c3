// Package mock provides function-field mocks of the hookd service
// interfaces for tests: set the XxxFunc field for each method a test expects
// to be called; calling a method whose field is nil panics, so an unexpected
// call fails the test loudly.
package mock

import (
	"context"
	"time"

	"github.com/hookd/hookd"
)

var (
	_ hookd.TenantService   = (*TenantService)(nil)
	_ hookd.WebhookService  = (*WebhookService)(nil)
	_ hookd.EventService    = (*EventService)(nil)
	_ hookd.DeliveryService = (*DeliveryService)(nil)
)

// TenantService is a mock hookd.TenantService.
type TenantService struct {
	EnsureTenantFunc   func(ctx context.Context, name string) (*hookd.Tenant, error)
	FindTenantByIDFunc func(ctx context.Context, id string) (*hookd.Tenant, error)
	CreateAPIKeyFunc   func(ctx context.Context, key *hookd.APIKey) error
	PutAPIKeyFunc      func(ctx context.Context, key *hookd.APIKey) error
	FindAPIKeyByIDFunc func(ctx context.Context, id string) (*hookd.APIKey, error)
	FindAPIKeysFunc    func(ctx context.Context) ([]*hookd.APIKey, error)
	RevokeAPIKeyFunc   func(ctx context.Context, id string, now time.Time) error
}

// EnsureTenant calls EnsureTenantFunc.
func (s *TenantService) EnsureTenant(ctx context.Context, name string) (*hookd.Tenant, error) {
	return s.EnsureTenantFunc(ctx, name)
}

// FindTenantByID calls FindTenantByIDFunc.
func (s *TenantService) FindTenantByID(ctx context.Context, id string) (*hookd.Tenant, error) {
	return s.FindTenantByIDFunc(ctx, id)
}

// CreateAPIKey calls CreateAPIKeyFunc.
func (s *TenantService) CreateAPIKey(ctx context.Context, key *hookd.APIKey) error {
	return s.CreateAPIKeyFunc(ctx, key)
}

// PutAPIKey calls PutAPIKeyFunc.
func (s *TenantService) PutAPIKey(ctx context.Context, key *hookd.APIKey) error {
	return s.PutAPIKeyFunc(ctx, key)
}

// FindAPIKeyByID calls FindAPIKeyByIDFunc.
func (s *TenantService) FindAPIKeyByID(ctx context.Context, id string) (*hookd.APIKey, error) {
	return s.FindAPIKeyByIDFunc(ctx, id)
}

// FindAPIKeys calls FindAPIKeysFunc.
func (s *TenantService) FindAPIKeys(ctx context.Context) ([]*hookd.APIKey, error) {
	return s.FindAPIKeysFunc(ctx)
}

// RevokeAPIKey calls RevokeAPIKeyFunc.
func (s *TenantService) RevokeAPIKey(ctx context.Context, id string, now time.Time) error {
	return s.RevokeAPIKeyFunc(ctx, id, now)
}

// WebhookService is a mock hookd.WebhookService.
type WebhookService struct {
	FindWebhookByIDFunc func(ctx context.Context, tenantID, id string) (*hookd.Webhook, error)
	FindWebhooksFunc    func(ctx context.Context, filter hookd.WebhookFilter) ([]*hookd.Webhook, bool, error)
	CreateWebhookFunc   func(ctx context.Context, w *hookd.Webhook) error
	UpdateWebhookFunc   func(ctx context.Context, tenantID, id string, upd hookd.WebhookUpdate, now time.Time) (*hookd.Webhook, error)
	DeleteWebhookFunc   func(ctx context.Context, tenantID, id string) error
}

// FindWebhookByID calls FindWebhookByIDFunc.
func (s *WebhookService) FindWebhookByID(ctx context.Context, tenantID, id string) (*hookd.Webhook, error) {
	return s.FindWebhookByIDFunc(ctx, tenantID, id)
}

// FindWebhooks calls FindWebhooksFunc.
func (s *WebhookService) FindWebhooks(ctx context.Context, filter hookd.WebhookFilter) ([]*hookd.Webhook, bool, error) {
	return s.FindWebhooksFunc(ctx, filter)
}

// CreateWebhook calls CreateWebhookFunc.
func (s *WebhookService) CreateWebhook(ctx context.Context, w *hookd.Webhook) error {
	return s.CreateWebhookFunc(ctx, w)
}

// UpdateWebhook calls UpdateWebhookFunc.
func (s *WebhookService) UpdateWebhook(ctx context.Context, tenantID, id string, upd hookd.WebhookUpdate, now time.Time) (*hookd.Webhook, error) {
	return s.UpdateWebhookFunc(ctx, tenantID, id, upd, now)
}

// DeleteWebhook calls DeleteWebhookFunc.
func (s *WebhookService) DeleteWebhook(ctx context.Context, tenantID, id string) error {
	return s.DeleteWebhookFunc(ctx, tenantID, id)
}

// EventService is a mock hookd.EventService.
type EventService struct {
	PublishEventsFunc func(ctx context.Context, events []*hookd.Event) ([]hookd.PublishResult, error)
	FindEventByIDFunc func(ctx context.Context, tenantID, id string) (*hookd.Event, error)
}

// PublishEvents calls PublishEventsFunc.
func (s *EventService) PublishEvents(ctx context.Context, events []*hookd.Event) ([]hookd.PublishResult, error) {
	return s.PublishEventsFunc(ctx, events)
}

// FindEventByID calls FindEventByIDFunc.
func (s *EventService) FindEventByID(ctx context.Context, tenantID, id string) (*hookd.Event, error) {
	return s.FindEventByIDFunc(ctx, tenantID, id)
}

// DeliveryService is a mock hookd.DeliveryService.
type DeliveryService struct {
	FindDeliveryByIDFunc       func(ctx context.Context, tenantID, id string) (*hookd.Delivery, error)
	FindDeliveriesFunc         func(ctx context.Context, filter hookd.DeliveryFilter) ([]*hookd.Delivery, bool, error)
	RedeliverDeliveryFunc      func(ctx context.Context, tenantID, id string, now time.Time) (*hookd.Delivery, error)
	RecoverDeliveriesFunc      func(ctx context.Context, tenantID, webhookID string, since, now time.Time) (int, error)
	ClaimDeliveriesFunc        func(ctx context.Context, req hookd.ClaimRequest) ([]*hookd.Task, error)
	CompleteDeliveriesFunc     func(ctx context.Context, results []hookd.AttemptResult) error
	DeleteDeliveriesBeforeFunc func(ctx context.Context, t time.Time) (int, error)
	QueueStatsFunc             func(ctx context.Context, now time.Time) (hookd.QueueStats, error)
}

// FindDeliveryByID calls FindDeliveryByIDFunc.
func (s *DeliveryService) FindDeliveryByID(ctx context.Context, tenantID, id string) (*hookd.Delivery, error) {
	return s.FindDeliveryByIDFunc(ctx, tenantID, id)
}

// FindDeliveries calls FindDeliveriesFunc.
func (s *DeliveryService) FindDeliveries(ctx context.Context, filter hookd.DeliveryFilter) ([]*hookd.Delivery, bool, error) {
	return s.FindDeliveriesFunc(ctx, filter)
}

// RedeliverDelivery calls RedeliverDeliveryFunc.
func (s *DeliveryService) RedeliverDelivery(ctx context.Context, tenantID, id string, now time.Time) (*hookd.Delivery, error) {
	return s.RedeliverDeliveryFunc(ctx, tenantID, id, now)
}

// RecoverDeliveries calls RecoverDeliveriesFunc.
func (s *DeliveryService) RecoverDeliveries(ctx context.Context, tenantID, webhookID string, since, now time.Time) (int, error) {
	return s.RecoverDeliveriesFunc(ctx, tenantID, webhookID, since, now)
}

// ClaimDeliveries calls ClaimDeliveriesFunc.
func (s *DeliveryService) ClaimDeliveries(ctx context.Context, req hookd.ClaimRequest) ([]*hookd.Task, error) {
	return s.ClaimDeliveriesFunc(ctx, req)
}

// CompleteDeliveries calls CompleteDeliveriesFunc.
func (s *DeliveryService) CompleteDeliveries(ctx context.Context, results []hookd.AttemptResult) error {
	return s.CompleteDeliveriesFunc(ctx, results)
}

// DeleteDeliveriesBefore calls DeleteDeliveriesBeforeFunc.
func (s *DeliveryService) DeleteDeliveriesBefore(ctx context.Context, t time.Time) (int, error) {
	return s.DeleteDeliveriesBeforeFunc(ctx, t)
}

// QueueStats calls QueueStatsFunc.
func (s *DeliveryService) QueueStats(ctx context.Context, now time.Time) (hookd.QueueStats, error) {
	return s.QueueStatsFunc(ctx, now)
}
