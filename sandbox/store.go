package sandbox

import (
	"context"
	"fmt"
	"time"

	"github.com/hookd/hookd"
)

// Store persists the sandbox's objects. Every method is scoped by tenant:
// another tenant's object is indistinguishable from a missing one. Objects
// passed in are not retained and objects returned are the caller's to
// modify.
//
// Lists are ordered and paginated by offset, as v1's lists are, and return
// the page together with the total number of matches (the list's "count").
// A Limit of 0 returns every match.
type Store interface {
	// CreateUser stores u. Returns ECONFLICT if the tenant has a user with
	// that ID.
	CreateUser(ctx context.Context, tenantID string, u *User) error

	// FindUserByID returns the tenant's user.
	// Returns ENOTFOUND if it does not exist.
	FindUserByID(ctx context.Context, tenantID, id string) (*User, error)

	// UpdateUser replaces the stored user with u's ID by u.
	// Returns ENOTFOUND if it does not exist.
	UpdateUser(ctx context.Context, tenantID string, u *User) error

	// CreateAccount stores a. Returns ENOTFOUND if its user does not exist
	// and ECONFLICT if the tenant has an account with that ID.
	CreateAccount(ctx context.Context, tenantID string, a *Account) error

	// FindAccountByID returns the tenant's account.
	// Returns ENOTFOUND if it does not exist.
	FindAccountByID(ctx context.Context, tenantID, id string) (*Account, error)

	// FindAccounts returns a page of the tenant's accounts, oldest
	// created_at first (then by ID), and the number of matches.
	FindAccounts(ctx context.Context, filter AccountFilter) ([]*Account, int, error)

	// UpdateAccount replaces the stored account with a's ID by a.
	// Returns ENOTFOUND if it does not exist.
	UpdateAccount(ctx context.Context, tenantID string, a *Account) error

	// DeleteAccount deletes the tenant's account with its activities,
	// payouts and profiles, atomically. Returns ENOTFOUND if it does not
	// exist.
	DeleteAccount(ctx context.Context, tenantID, id string) error

	// CreateActivities stores every activity or none. Returns ENOTFOUND if
	// an activity's account does not exist and ECONFLICT if the tenant has
	// an activity with one of the IDs.
	CreateActivities(ctx context.Context, tenantID string, activities []*Activity) error

	// UpdateActivities replaces each stored activity with the same ID, all
	// or none. Returns ENOTFOUND if one does not exist.
	UpdateActivities(ctx context.Context, tenantID string, activities []*Activity) error

	// DeleteActivities deletes the tenant's activities with these IDs, all
	// or none. Returns ENOTFOUND if one does not exist.
	DeleteActivities(ctx context.Context, tenantID string, ids []string) error

	// FindActivities returns a page of matching activities, newest
	// start_date first (then by ID, descending), and the number of matches.
	FindActivities(ctx context.Context, filter ActivityFilter) ([]*Activity, int, error)

	// SummarizeActivities returns the number of matching activities and
	// their earliest and latest start_date. It ignores Limit and Offset.
	SummarizeActivities(ctx context.Context, filter ActivityFilter) (Summary, error)

	// CreatePayouts stores every payout or none. Returns ENOTFOUND if a
	// payout's account does not exist and ECONFLICT if the tenant has a
	// payout with one of the IDs.
	CreatePayouts(ctx context.Context, tenantID string, payouts []*Payout) error

	// FindPayouts returns a page of matching payouts, newest payout_date
	// first (then by ID, descending), and the number of matches.
	FindPayouts(ctx context.Context, filter PayoutFilter) ([]*Payout, int, error)

	// SummarizePayouts returns the number of matching payouts and their
	// earliest and latest payout_date. It ignores Limit and Offset.
	SummarizePayouts(ctx context.Context, filter PayoutFilter) (Summary, error)

	// CreateProfile stores p. Returns ENOTFOUND if its account does not
	// exist and ECONFLICT if the tenant has a profile with that ID.
	CreateProfile(ctx context.Context, tenantID string, p *Profile) error

	// FindProfiles returns a page of matching profiles, oldest created_at
	// first (then by ID), and the number of matches.
	FindProfiles(ctx context.Context, filter ProfileFilter) ([]*Profile, int, error)
}

// AccountFilter selects a tenant's accounts (GET /v1/accounts). Empty
// fields do not filter.
type AccountFilter struct {
	TenantID string
	// User keeps the accounts of this user.
	User          string
	Limit, Offset int
}

// ActivityFilter selects a tenant's activities (GET /v1/activities). Empty
// fields do not filter; time bounds are inclusive.
type ActivityFilter struct {
	TenantID string
	// Account keeps the activities of this account; User those of this
	// user's accounts.
	Account, User string
	// FromStartDate and ToStartDate bound start_date
	// (from_start_date, to_start_date).
	FromStartDate, ToStartDate *time.Time
	// FromUpdatedAt and ToUpdatedAt bound updated_at
	// (from_updated_at, to_updated_at).
	FromUpdatedAt, ToUpdatedAt *time.Time
	Limit, Offset              int
}

// PayoutFilter selects a tenant's payouts (GET /v1/payouts). Empty fields
// do not filter; time bounds are inclusive.
type PayoutFilter struct {
	TenantID      string
	Account, User string
	// FromStartDate and ToStartDate bound payout_date
	// (from_start_date, to_start_date).
	FromStartDate, ToStartDate *time.Time
	// FromUpdatedAt and ToUpdatedAt bound updated_at.
	FromUpdatedAt, ToUpdatedAt *time.Time
	Limit, Offset              int
}

// ProfileFilter selects a tenant's profiles (GET /v1/profiles). Empty
// fields do not filter.
type ProfileFilter struct {
	TenantID      string
	Account, User string
	Limit, Offset int
}

// Summary describes a set of activities or payouts as the available_* and
// added_* fields of a payload do.
type Summary struct {
	Count int
	// From and To are the earliest and latest start_date (payout_date);
	// nil when Count is 0.
	From, To *time.Time
}

// ParseFilterTime parses the value of a date filter such as from_start_date
// or to_updated_at: an RFC 3339 time (as copied from a payload's
// added_from), or a date "YYYY-MM-DD", which means the start of that day in
// UTC, or its last instant when end is true (for to_… filters).
// Returns EINVALID for anything else.
func ParseFilterTime(field, value string, end bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, value); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, value); err == nil {
		if end {
			t = t.Add(24*time.Hour - time.Nanosecond)
		}
		return t, nil
	}
	return time.Time{}, hookd.FieldError(field, fmt.Sprintf("Enter a valid date/time: %q.", value))
}
