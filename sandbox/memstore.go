package sandbox

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hookd/hookd"
)

var _ Store = (*MemStore)(nil)

// MemStore is a Store in memory, safe for concurrent use. Objects are
// copied in and out, so callers never share them with the store.
type MemStore struct {
	mu      sync.RWMutex
	tenants map[string]*memTenant
}

type memTenant struct {
	users      map[string]*User
	accounts   map[string]*Account
	activities map[string]*Activity
	payouts    map[string]*Payout
	profiles   map[string]*Profile
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{tenants: make(map[string]*memTenant)}
}

// tenant returns the tenant's maps, creating them when create is true;
// otherwise it may return an empty placeholder. Callers hold s.mu.
func (s *MemStore) tenant(id string, create bool) *memTenant {
	t := s.tenants[id]
	if t == nil {
		t = &memTenant{
			users:      make(map[string]*User),
			accounts:   make(map[string]*Account),
			activities: make(map[string]*Activity),
			payouts:    make(map[string]*Payout),
			profiles:   make(map[string]*Profile),
		}
		if create {
			s.tenants[id] = t
		}
	}
	return t
}

// clone returns a deep copy of v through its JSON form, which every object
// round-trips exactly.
func clone[T any](v *T) *T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sandbox: clone %T: %v", v, err))
	}
	c := new(T)
	if err := json.Unmarshal(b, c); err != nil {
		panic(fmt.Sprintf("sandbox: clone %T: %v", v, err))
	}
	return c
}

func cloneAll[T any](vs []*T) []*T {
	out := make([]*T, len(vs))
	for i, v := range vs {
		out[i] = clone(v)
	}
	return out
}

// cloneActivity is clone for activities, the one list read in bulk, by
// hand: a JSON round trip costs twenty times as much.
func cloneActivity(a *Activity) *Activity {
	c := *a
	c.NumTasks, c.Timezone, c.Route = cp(a.NumTasks), cp(a.Timezone), cp(a.Route)
	c.Distance, c.DistanceUnit = cp(a.Distance), cp(a.DistanceUnit)
	c.StartLocation, c.EndLocation = cp(a.StartLocation), cp(a.EndLocation)
	d, s := &c.AllDatetimes, &a.AllDatetimes
	d.RequestAt, d.AcceptAt, d.PickupAt, d.DropoffAt = cp(s.RequestAt), cp(s.AcceptAt), cp(s.PickupAt), cp(s.DropoffAt)
	d.CancelAt, d.ShiftStart, d.ShiftEnd = cp(s.CancelAt), cp(s.ShiftStart), cp(s.ShiftEnd)
	d.BreakStart, d.BreakEnd, d.Breaks = cp(s.BreakStart), cp(s.BreakEnd), slices.Clone(s.Breaks)
	c.Metadata = deepCopy(a.Metadata)
	c.Circumstances.ServiceType = cp(a.Circumstances.ServiceType)
	c.Circumstances.Position = deepCopy(a.Circumstances.Position)
	i, j := &c.Income, &a.Income
	i.TotalCharge, i.Fees, i.Total, i.Pay = cp(j.TotalCharge), cp(j.Fees), cp(j.Total), cp(j.Pay)
	i.Tips, i.Bonus, i.Taxes = cp(j.Tips), cp(j.Bonus), cp(j.Taxes)
	c.IncomeRates.Hour, c.IncomeRates.Mile = cp(a.IncomeRates.Hour), cp(a.IncomeRates.Mile)
	return &c
}

func cloneActivities(as []*Activity) []*Activity {
	out := make([]*Activity, len(as))
	for i, a := range as {
		out[i] = cloneActivity(a)
	}
	return out
}

// cp returns a pointer to a copy of *p, or nil.
func cp[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// deepCopy copies JSON-shaped values (maps, slices, scalars).
func deepCopy[T any](v T) T {
	c, _ := deepCopyAny(v).(T)
	return c
}

func deepCopyAny(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if v == nil {
			return v
		}
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = deepCopyAny(x)
		}
		return m
	case []any:
		if v == nil {
			return v
		}
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = deepCopyAny(x)
		}
		return s
	}
	return v
}

func notFound(what, id string) error {
	return hookd.Errorf(hookd.ENOTFOUND, "%s %s not found.", what, id)
}

func conflict(what, id string) error {
	return hookd.Errorf(hookd.ECONFLICT, "%s %s already exists.", what, id)
}

// CreateUser implements Store.
func (s *MemStore) CreateUser(ctx context.Context, tenantID string, u *User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantID, true)
	if _, ok := t.users[u.ID]; ok {
		return conflict("User", u.ID)
	}
	t.users[u.ID] = clone(u)
	return nil
}

// FindUserByID implements Store.
func (s *MemStore) FindUserByID(ctx context.Context, tenantID, id string) (*User, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.tenant(tenantID, false).users[id]
	if !ok {
		return nil, notFound("User", id)
	}
	return clone(u), nil
}

// UpdateUser implements Store.
func (s *MemStore) UpdateUser(ctx context.Context, tenantID string, u *User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantID, false)
	if _, ok := t.users[u.ID]; !ok {
		return notFound("User", u.ID)
	}
	t.users[u.ID] = clone(u)
	return nil
}

// CreateAccount implements Store.
func (s *MemStore) CreateAccount(ctx context.Context, tenantID string, a *Account) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantID, true)
	if _, ok := t.users[a.User]; !ok {
		return notFound("User", a.User)
	}
	if _, ok := t.accounts[a.ID]; ok {
		return conflict("Account", a.ID)
	}
	t.accounts[a.ID] = clone(a)
	return nil
}

// FindAccountByID implements Store.
func (s *MemStore) FindAccountByID(ctx context.Context, tenantID, id string) (*Account, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.tenant(tenantID, false).accounts[id]
	if !ok {
		return nil, notFound("Account", id)
	}
	return clone(a), nil
}

// FindAccounts implements Store.
func (s *MemStore) FindAccounts(ctx context.Context, filter AccountFilter) ([]*Account, int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*Account
	for _, a := range s.tenant(filter.TenantID, false).accounts {
		if filter.User == "" || a.User == filter.User {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b *Account) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt.Time), cmp.Compare(a.ID, b.ID))
	})
	page := paginate(out, filter.Limit, filter.Offset)
	return cloneAll(page), len(out), nil
}

// UpdateAccount implements Store.
func (s *MemStore) UpdateAccount(ctx context.Context, tenantID string, a *Account) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantID, false)
	if _, ok := t.accounts[a.ID]; !ok {
		return notFound("Account", a.ID)
	}
	t.accounts[a.ID] = clone(a)
	return nil
}

// DeleteAccount implements Store.
func (s *MemStore) DeleteAccount(ctx context.Context, tenantID, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantID, false)
	if _, ok := t.accounts[id]; !ok {
		return notFound("Account", id)
	}
	delete(t.accounts, id)
	for k, v := range t.activities {
		if v.Account == id {
			delete(t.activities, k)
		}
	}
	for k, v := range t.payouts {
		if v.Account == id {
			delete(t.payouts, k)
		}
	}
	for k, v := range t.profiles {
		if v.Account == id {
			delete(t.profiles, k)
		}
	}
	return nil
}

// CreateActivities implements Store.
func (s *MemStore) CreateActivities(ctx context.Context, tenantID string, activities []*Activity) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantID, true)
	seen := make(map[string]bool, len(activities))
	for _, a := range activities {
		if _, ok := t.accounts[a.Account]; !ok {
			return notFound("Account", a.Account)
		}
		if _, ok := t.activities[a.ID]; ok || seen[a.ID] {
			return conflict("Activity", a.ID)
		}
		seen[a.ID] = true
	}
	for _, a := range activities {
		t.activities[a.ID] = cloneActivity(a)
	}
	return nil
}

// UpdateActivities implements Store.
func (s *MemStore) UpdateActivities(ctx context.Context, tenantID string, activities []*Activity) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantID, false)
	for _, a := range activities {
		if _, ok := t.activities[a.ID]; !ok {
			return notFound("Activity", a.ID)
		}
	}
	for _, a := range activities {
		t.activities[a.ID] = cloneActivity(a)
	}
	return nil
}

// DeleteActivities implements Store.
func (s *MemStore) DeleteActivities(ctx context.Context, tenantID string, ids []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantID, false)
	for _, id := range ids {
		if _, ok := t.activities[id]; !ok {
			return notFound("Activity", id)
		}
	}
	for _, id := range ids {
		delete(t.activities, id)
	}
	return nil
}

// matchActivities returns the activities filter selects, newest start_date
// first. Callers hold s.mu.
func (s *MemStore) matchActivities(filter ActivityFilter) []*Activity {
	out := s.filterActivities(filter)
	slices.SortFunc(out, func(a, b *Activity) int {
		return cmp.Or(b.StartDate.Compare(a.StartDate.Time), cmp.Compare(b.ID, a.ID))
	})
	return out
}

// filterActivities returns the activities filter selects, in no order.
// Callers hold s.mu.
func (s *MemStore) filterActivities(filter ActivityFilter) []*Activity {
	t := s.tenant(filter.TenantID, false)
	var out []*Activity
	for _, a := range t.activities {
		if filter.Account != "" && a.Account != filter.Account {
			continue
		}
		if filter.User != "" && t.accounts[a.Account].User != filter.User {
			continue
		}
		if !within(a.StartDate.Time, filter.FromStartDate, filter.ToStartDate) ||
			!within(a.UpdatedAt.Time, filter.FromUpdatedAt, filter.ToUpdatedAt) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// FindActivities implements Store.
func (s *MemStore) FindActivities(ctx context.Context, filter ActivityFilter) ([]*Activity, int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := s.matchActivities(filter)
	return cloneActivities(paginate(out, filter.Limit, filter.Offset)), len(out), nil
}

// SummarizeActivities implements Store.
func (s *MemStore) SummarizeActivities(ctx context.Context, filter ActivityFilter) (Summary, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var sum Summary
	for _, a := range s.filterActivities(filter) {
		sum = sum.add(a.StartDate.Time)
	}
	return sum, nil
}

// CreatePayouts implements Store.
func (s *MemStore) CreatePayouts(ctx context.Context, tenantID string, payouts []*Payout) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantID, true)
	seen := make(map[string]bool, len(payouts))
	for _, p := range payouts {
		if _, ok := t.accounts[p.Account]; !ok {
			return notFound("Account", p.Account)
		}
		if _, ok := t.payouts[p.ID]; ok || seen[p.ID] {
			return conflict("Payout", p.ID)
		}
		seen[p.ID] = true
	}
	for _, p := range payouts {
		t.payouts[p.ID] = clone(p)
	}
	return nil
}

// matchPayouts returns the payouts filter selects, newest payout_date
// first. Callers hold s.mu.
func (s *MemStore) matchPayouts(filter PayoutFilter) []*Payout {
	t := s.tenant(filter.TenantID, false)
	var out []*Payout
	for _, p := range t.payouts {
		if filter.Account != "" && p.Account != filter.Account {
			continue
		}
		if filter.User != "" && t.accounts[p.Account].User != filter.User {
			continue
		}
		if !within(p.PayoutDate.Time, filter.FromStartDate, filter.ToStartDate) ||
			!within(p.UpdatedAt.Time, filter.FromUpdatedAt, filter.ToUpdatedAt) {
			continue
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *Payout) int {
		return cmp.Or(b.PayoutDate.Compare(a.PayoutDate.Time), cmp.Compare(b.ID, a.ID))
	})
	return out
}

// FindPayouts implements Store.
func (s *MemStore) FindPayouts(ctx context.Context, filter PayoutFilter) ([]*Payout, int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := s.matchPayouts(filter)
	return cloneAll(paginate(out, filter.Limit, filter.Offset)), len(out), nil
}

// SummarizePayouts implements Store.
func (s *MemStore) SummarizePayouts(ctx context.Context, filter PayoutFilter) (Summary, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := s.matchPayouts(filter)
	if len(out) == 0 {
		return Summary{}, nil
	}
	from, to := out[len(out)-1].PayoutDate.Time, out[0].PayoutDate.Time
	return Summary{Count: len(out), From: &from, To: &to}, nil
}

// CreateProfile implements Store.
func (s *MemStore) CreateProfile(ctx context.Context, tenantID string, p *Profile) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantID, true)
	if _, ok := t.accounts[p.Account]; !ok {
		return notFound("Account", p.Account)
	}
	if _, ok := t.profiles[p.ID]; ok {
		return conflict("Profile", p.ID)
	}
	t.profiles[p.ID] = clone(p)
	return nil
}

// FindProfiles implements Store.
func (s *MemStore) FindProfiles(ctx context.Context, filter ProfileFilter) ([]*Profile, int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.tenant(filter.TenantID, false)
	var out []*Profile
	for _, p := range t.profiles {
		if filter.Account != "" && p.Account != filter.Account {
			continue
		}
		if filter.User != "" && t.accounts[p.Account].User != filter.User {
			continue
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *Profile) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt.Time), cmp.Compare(a.ID, b.ID))
	})
	return cloneAll(paginate(out, filter.Limit, filter.Offset)), len(out), nil
}

// within reports whether t lies in [from, to], a nil bound being open.
func within(t time.Time, from, to *time.Time) bool {
	return (from == nil || !t.Before(*from)) && (to == nil || !t.After(*to))
}

// paginate returns the page of items at offset of at most limit items (all
// of them for a limit of 0).
func paginate[T any](items []T, limit, offset int) []T {
	if offset >= len(items) {
		return nil
	}
	items = items[max(offset, 0):]
	if limit > 0 && limit < len(items) {
		items = items[:limit]
	}
	return items
}
