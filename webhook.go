package hookd

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Webhook statuses.
const (
	WebhookEnabled  = "enabled"
	WebhookDisabled = "disabled"
)

// Reasons a webhook is disabled.
const (
	DisabledGone    = "gone"    // the endpoint answered 410 Gone
	DisabledFailing = "failing" // no success for FailingDisableAfter
	DisabledManual  = "manual"  // disabled through the API or console
)

// FailingDisableAfter is how long a webhook may fail without one success
// before it is disabled.
const FailingDisableAfter = 5 * 24 * time.Hour

// Limits on webhook fields.
const (
	MaxNameLength   = 255
	MaxURLLength    = 2048
	MaxSecretLength = 512
	MaxEvents       = 100
)

// WebhookConfig is a webhook's config object. A nil field is unset and
// absent from JSON, so an unset config marshals as {}.
type WebhookConfig struct {
	// IncludeResource adds the account object to accounts.* payloads.
	IncludeResource *bool `json:"include_resource,omitempty"`
	// DaysSynced is the history, in days, after which *.partially_synced
	// fires. Defaults to DefaultDaysSynced.
	DaysSynced *int `json:"days_synced,omitempty"`
}

// IsZero reports whether no config key is set.
func (c WebhookConfig) IsZero() bool {
	return c.IncludeResource == nil && c.DaysSynced == nil
}

// Days returns DaysSynced, or DefaultDaysSynced when unset.
func (c WebhookConfig) Days() int {
	if c.DaysSynced == nil {
		return DefaultDaysSynced
	}
	return *c.DaysSynced
}

// Webhook is a subscription: deliver these events, signed with Secret, to URL.
type Webhook struct {
	ID       string
	TenantID string
	Name     string
	// Events is the subscribed event names in the order given, or ["*"].
	Events []string
	URL    string
	Config WebhookConfig
	// Secret signs deliveries; "" means unsigned.
	Secret string
	// PreviousSecret keeps signing alongside Secret until
	// PreviousSecretExpiresAt, after a rotation.
	PreviousSecret          string
	PreviousSecretExpiresAt *time.Time

	Status         string // WebhookEnabled or WebhookDisabled
	DisabledReason string // "" while enabled
	// FailingSince is the first failed attempt since the last success.
	FailingSince *time.Time
	// LastSentAt is when the latest attempt started, give or take a
	// second: stores update it only when it moves by a second or more (or
	// the webhook's failing state changes), so a busy webhook's row is not
	// rewritten for every batch of results, and PostgreSQL nodes do not
	// queue on it.
	LastSentAt *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Subscribes reports whether the webhook receives events of type name.
func (w *Webhook) Subscribes(name string) bool {
	for _, e := range w.Events {
		if e == name || e == Wildcard {
			return true
		}
	}
	return false
}

// Secrets returns the secrets that sign a delivery at now: the current one
// first, then the previous one while its grace period lasts.
func (w *Webhook) Secrets(now time.Time) []string {
	var s []string
	if w.Secret != "" {
		s = append(s, w.Secret)
	}
	if w.PreviousSecret != "" && w.PreviousSecretExpiresAt != nil && now.Before(*w.PreviousSecretExpiresAt) {
		s = append(s, w.PreviousSecret)
	}
	return s
}

// MaskSecret returns secret as every answer but the create shows it:
// "********" and its last four characters, "********" alone when it has four
// or fewer, and "" for no secret.
func MaskSecret(secret string) string {
	if secret == "" {
		return ""
	}
	if utf8.RuneCountInString(secret) <= 4 {
		return "********"
	}
	r := []rune(secret)
	return "********" + string(r[len(r)-4:])
}

// Validate checks the fields a client sets, with DRF-shaped messages keyed by
// field. It does not check the URL against the egress policy: serve does that
// at create through deliver.Egress.CheckURL (http.Server.URLPolicy).
func (w *Webhook) Validate() error {
	var fe FieldErrors
	validateName(&fe, w.Name)
	validateURL(&fe, w.URL)
	validateEvents(&fe, w.Events)
	if _, ok := fe["events"]; !ok {
		validateConfig(&fe, w.Events, w.Config)
	}
	if utf8.RuneCountInString(w.Secret) > MaxSecretLength {
		fe.Add("secret", fmt.Sprintf("Ensure this field has no more than %d characters.", MaxSecretLength))
	}
	switch w.Status {
	case WebhookEnabled, WebhookDisabled:
	default:
		fe.Add("status", fmt.Sprintf("%q is not a valid choice.", w.Status))
	}
	return fe.Err()
}

func validateName(fe *FieldErrors, name string) {
	if strings.TrimSpace(name) == "" {
		fe.Add("name", "This field may not be blank.")
	} else if utf8.RuneCountInString(name) > MaxNameLength {
		fe.Add("name", fmt.Sprintf("Ensure this field has no more than %d characters.", MaxNameLength))
	}
}

func validateURL(fe *FieldErrors, raw string) {
	if strings.TrimSpace(raw) == "" {
		fe.Add("url", "This field may not be blank.")
		return
	}
	if len(raw) > MaxURLLength {
		fe.Add("url", fmt.Sprintf("Ensure this field has no more than %d characters.", MaxURLLength))
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" || u.User != nil {
		fe.Add("url", "Enter a valid URL.")
	}
}

func validateEvents(fe *FieldErrors, events []string) {
	if len(events) == 0 {
		fe.Add("events", "This list may not be empty.")
		return
	}
	if len(events) > MaxEvents {
		fe.Add("events", fmt.Sprintf("Ensure this field has no more than %d elements.", MaxEvents))
		return
	}
	seen := make(map[string]bool, len(events))
	for _, e := range events {
		if e == Wildcard {
			if len(events) > 1 {
				fe.Add("events", `"*" subscribes to every event and cannot be combined with other events.`)
				return
			}
			continue
		}
		if _, ok := LookupEvent(e); !ok {
			fe.Add("events", fmt.Sprintf("%q is not a valid choice.", e))
		} else if seen[e] {
			fe.Add("events", fmt.Sprintf("%q is listed more than once.", e))
		}
		seen[e] = true
	}
}

func validateConfig(fe *FieldErrors, events []string, c WebhookConfig) {
	if c.IsZero() {
		return
	}
	if len(events) == 1 && events[0] == Wildcard {
		fe.Add("config", `"*" subscribes to every event and takes no config.`)
		return
	}
	if c.IncludeResource != nil {
		for _, e := range events {
			if t, _ := LookupEvent(e); !t.Resource {
				fe.Add("config", fmt.Sprintf("include_resource is only allowed for %s; not for %s.", resourceEventNames(), e))
				break
			}
		}
	}
	if c.DaysSynced != nil {
		for _, e := range events {
			if t, _ := LookupEvent(e); !t.DaysSynced {
				fe.Add("config", fmt.Sprintf("days_synced is only allowed for activities.partially_synced and payouts.partially_synced; not for %s.", e))
				break
			}
		}
		if d := *c.DaysSynced; d < 1 || d > MaxDaysSynced {
			fe.Add("config", fmt.Sprintf("days_synced must be an integer from 1 to %d.", MaxDaysSynced))
		}
	}
}

// WebhookUpdate holds the fields a PATCH may change; nil means unchanged.
type WebhookUpdate struct {
	Name   *string
	URL    *string
	Events *[]string
	Config *WebhookConfig
	// Secret sets the secret; a pointer to "" removes it.
	Secret *string
	// Status re-enables (or disables) the webhook. Enabling clears
	// DisabledReason and FailingSince; disabling sets DisabledManual.
	Status *string
	// RotateSecret, when set, makes Secret the new secret and keeps the old
	// one signing until PreviousSecretExpiresAt.
	PreviousSecret          *string
	PreviousSecretExpiresAt *time.Time
}

// Apply returns a copy of w with upd applied, UpdatedAt set to now, and the
// result validated. Stores call it inside their update transaction.
func (upd WebhookUpdate) Apply(w *Webhook, now time.Time) (*Webhook, error) {
	c := *w
	if upd.Name != nil {
		c.Name = *upd.Name
	}
	if upd.URL != nil {
		c.URL = *upd.URL
	}
	if upd.Events != nil {
		c.Events = append([]string(nil), (*upd.Events)...)
	}
	if upd.Config != nil {
		c.Config = *upd.Config
	}
	if upd.Secret != nil {
		c.Secret = *upd.Secret
	}
	if upd.PreviousSecret != nil {
		c.PreviousSecret = *upd.PreviousSecret
		c.PreviousSecretExpiresAt = upd.PreviousSecretExpiresAt
	}
	if upd.Status != nil && *upd.Status != w.Status {
		c.Status = *upd.Status
		switch c.Status {
		case WebhookEnabled:
			c.DisabledReason, c.FailingSince = "", nil
		case WebhookDisabled:
			c.DisabledReason = DisabledManual
		}
	}
	c.UpdatedAt = now
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// WebhookFilter selects a tenant's webhooks for a list.
type WebhookFilter struct {
	TenantID string
	// CreatedFrom and CreatedTo bound created_at, both inclusive.
	CreatedFrom, CreatedTo *time.Time
	// Ordering is "id", "created_at" or "-created_at" (the default, "").
	Ordering string
	Page     Page
}

// Webhook list orderings.
const (
	OrderID            = "id"
	OrderCreatedAt     = "created_at"
	OrderCreatedAtDesc = "-created_at"
)

// WebhookService stores webhooks. Every method is scoped by tenant: another
// tenant's webhook is indistinguishable from a missing one.
type WebhookService interface {
	// FindWebhookByID returns the tenant's webhook with that ID.
	// Returns ENOTFOUND if it does not exist or belongs to another tenant.
	FindWebhookByID(ctx context.Context, tenantID, id string) (*Webhook, error)

	// FindWebhooks returns up to filter.Page.Limit webhooks in the filter's
	// order, and whether more exist beyond the page in the direction it was
	// read (past the last item for After or no cursor, before the first
	// for Before).
	FindWebhooks(ctx context.Context, filter WebhookFilter) ([]*Webhook, bool, error)

	// CreateWebhook stores w, which the caller has validated and given an
	// ID, TenantID, Status and timestamps.
	CreateWebhook(ctx context.Context, w *Webhook) error

	// UpdateWebhook applies upd to the tenant's webhook at now and returns
	// the result. Returns ENOTFOUND if it does not exist, EINVALID if the
	// result does not validate.
	UpdateWebhook(ctx context.Context, tenantID, id string, upd WebhookUpdate, now time.Time) (*Webhook, error)

	// DeleteWebhook deletes the tenant's webhook with its deliveries and
	// their attempts, so nothing further is sent. Returns ENOTFOUND if it
	// does not exist.
	DeleteWebhook(ctx context.Context, tenantID, id string) error
}

// DefaultRotationGrace is how long the previous secret keeps signing after
// a rotation.
const DefaultRotationGrace = 24 * time.Hour

// RotateSecret returns the update that gives w a new random secret
// ("whsec_"-less hex, 32 bytes) and keeps the current one signing until
// now+grace. A webhook without a secret just gets one.
func RotateSecret(w *Webhook, now time.Time, grace time.Duration) (WebhookUpdate, string) {
	secret := RandomToken(32)
	upd := WebhookUpdate{Secret: &secret}
	if w.Secret != "" {
		prev, until := w.Secret, Truncate(now.Add(grace))
		upd.PreviousSecret, upd.PreviousSecretExpiresAt = &prev, &until
	}
	return upd, secret
}
