package sandbox

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/hookd/hookd"
)

// Defaults and limits of simulation requests.
const (
	DefaultDays       = 365
	DefaultActivities = 200
	// MaxDays is the longest history a connect may ask for.
	MaxDays = hookd.MaxDaysSynced
	// MaxActivities bounds the activities one connect or refresh adds.
	MaxActivities = 10_000
	// MaxAccountActivities bounds the activities one account holds.
	MaxAccountActivities = 100_000
	// DefaultErrorCode is the error of a connect asked to fail without a code.
	DefaultErrorCode = "account_disabled"
)

// ErrorCodes maps each connection error code a connect may fail with (each
// of which sends accounts.failed) to its v1 API message.
var ErrorCodes = map[string]string{
	"account_disabled":     "This user's employment account appears to be suspended or disabled.",
	"account_inaccessible": "This user's account is not currently accessible. Our team has been notified and is investigating.",
	"account_incomplete":   "This user's employment account is not yet active.",
	"expired_credentials":  "This user's password has expired and must be reset before the account can connect.",
	"invalid_credentials":  "The login credentials provided are incorrect.",
	"invalid_mfa":          "The multi-factor authentication code provided is incorrect.",
	"mfa_timeout":          "The multi-factor authentication request timed out.",
}

// ConnectRequest is the body of POST /v1/sandbox/accounts; every field is
// optional.
type ConnectRequest struct {
	// User connects an existing user; by default a new user is created.
	User string `json:"user"`
	// Employer is a name or Link item from Employers, or any other name
	// (an hourly employer); by default one of Employers.
	Employer string `json:"employer"`
	// Days is the history span, 1 to MaxDays. Defaults to DefaultDays.
	Days *int `json:"days"`
	// Activities is how many activities the history holds, 0 to
	// MaxActivities. Defaults to DefaultActivities.
	Activities *int `json:"activities"`
	// Fail makes the connection fail with ErrorCode, or DefaultErrorCode.
	Fail bool `json:"fail"`
	// ErrorCode, when set, makes the connection fail with this code, one of
	// ErrorCodes.
	ErrorCode string `json:"error_code"`
}

// Validate checks r, with DRF-shaped messages keyed by field.
func (r *ConnectRequest) Validate() error {
	var fe hookd.FieldErrors
	if r.User != "" && !hookd.IsUUID(r.User) {
		fe.Add("user", fmt.Sprintf("%q is not a valid UUID.", r.User))
	}
	if utf8.RuneCountInString(r.Employer) > hookd.MaxNameLength {
		fe.Add("employer", fmt.Sprintf("Ensure this field has no more than %d characters.", hookd.MaxNameLength))
	} else if r.Employer != "" && strings.TrimSpace(r.Employer) == "" {
		fe.Add("employer", "This field may not be blank.")
	}
	checkRange(&fe, "days", r.Days, 1, MaxDays)
	checkRange(&fe, "activities", r.Activities, 0, MaxActivities)
	if _, ok := ErrorCodes[r.ErrorCode]; r.ErrorCode != "" && !ok {
		codes := make([]string, 0, len(ErrorCodes))
		for c := range ErrorCodes {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		fe.Add("error_code", fmt.Sprintf("%q is not a valid choice; choose one of %s.", r.ErrorCode, strings.Join(codes, ", ")))
	}
	return fe.Err()
}

func checkRange(fe *hookd.FieldErrors, field string, v *int, lo, hi int) {
	if v == nil {
		return
	}
	if *v < lo {
		fe.Add(field, fmt.Sprintf("Ensure this value is greater than or equal to %d.", lo))
	} else if *v > hi {
		fe.Add(field, fmt.Sprintf("Ensure this value is less than or equal to %d.", hi))
	}
}

// RefreshRequest is the body of POST /v1/sandbox/accounts/{id}/refresh: how
// many activities a refresh scan finds new, changed and gone.
type RefreshRequest struct {
	Added   int `json:"added"`
	Updated int `json:"updated"`
	Removed int `json:"removed"`
}

// Validate checks r on its own; Refresh also checks it against the account.
func (r *RefreshRequest) Validate() error {
	var fe hookd.FieldErrors
	checkRange(&fe, "added", &r.Added, 0, MaxActivities)
	checkRange(&fe, "updated", &r.Updated, 0, MaxAccountActivities)
	checkRange(&fe, "removed", &r.Removed, 0, MaxAccountActivities)
	return fe.Err()
}

// RefreshResult describes what a refresh changed.
type RefreshResult struct {
	// Account is the account after the refresh.
	Account *Account `json:"account"`
	// Added, Updated and Removed are the IDs of the activities concerned,
	// oldest start_date first.
	Added   []string `json:"added"`
	Updated []string `json:"updated"`
	Removed []string `json:"removed"`
	// PayoutsAdded are the IDs of new payouts, oldest first.
	PayoutsAdded []string `json:"payouts_added"`
}

// Simulator makes sandbox accounts connect, refresh and go, storing their
// data in Store and publishing the events a real account would send through
// Events. Its methods are safe for concurrent use; they run one at a time.
type Simulator struct {
	Store  Store
	Events hookd.EventService
	// Webhooks lists the tenant's webhooks, to send *.partially_synced per
	// days_synced. When nil, no *.partially_synced is sent.
	Webhooks hookd.WebhookService

	// Now returns the current time. Defaults to hookd.Now.
	Now func() time.Time
	// Seed seeds the generated data: the nth connect of a Simulator uses
	// Seed+n-1, so the same seed gives the same sequence of accounts.
	Seed int64
	// NewID returns the IDs of new objects and events. Defaults to
	// hookd.NewID.
	NewID func() string

	mu       sync.Mutex
	connects atomic.Int64
}

func (s *Simulator) now() time.Time {
	if s.Now != nil {
		return hookd.Truncate(s.Now())
	}
	return hookd.Now()
}

func (s *Simulator) newID() string {
	if s.NewID != nil {
		return s.NewID()
	}
	return hookd.NewID()
}

// Connect creates an account (and a user unless req names one), stores its
// data and publishes, in one PublishEvents call, the connect sequence:
//
//	accounts.added                 (connecting)
//	accounts.updated               (connecting)
//	accounts.updated               (connected)
//	accounts.connected
//	profiles.added
//	activities.partially_synced    one per distinct days_synced shorter than
//	                               the history, to the webhooks using it
//	activities.fully_synced
//	payouts.partially_synced       likewise
//	payouts.fully_synced
//	accounts.updated               (synced: the account as stored)
//	users.fully_synced
//
// or, when req asks for a failure, accounts.added, accounts.updated,
// accounts.failed and accounts.updated. The accounts.* events carry the
// account as it then stood as their resource. It returns the account as
// stored. Returns EINVALID if req does not validate or names a user that
// does not exist.
//
// The data is stored before anything is published, so a receiver that
// queries the lists on receipt finds it; if a store or publish call fails
// midway, what was stored stays.
func (s *Simulator) Connect(ctx context.Context, tenantID string, req ConnectRequest) (*Account, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	days, n := DefaultDays, DefaultActivities
	if req.Days != nil {
		days = *req.Days
	}
	if req.Activities != nil {
		n = *req.Activities
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	now := s.now()
	g := NewGenerator(s.Seed + s.connects.Add(1) - 1)
	g.NewID = s.newID
	emp := pick(g, Employers)
	if strings.TrimSpace(req.Employer) != "" {
		emp = LookupEmployer(strings.TrimSpace(req.Employer))
	}

	var user *User
	if req.User != "" {
		u, err := s.Store.FindUserByID(ctx, tenantID, req.User)
		if hookd.ErrorCode(err) == hookd.ENOTFOUND {
			return nil, hookd.FieldError("user", fmt.Sprintf("Invalid pk %q - object does not exist.", req.User))
		} else if err != nil {
			return nil, fmt.Errorf("find user: %w", err)
		}
		user = u
	} else {
		user = g.User(now)
		if err := s.Store.CreateUser(ctx, tenantID, user); err != nil {
			return nil, fmt.Errorf("create user: %w", err)
		}
	}

	b := &sequence{tenantID: tenantID, now: now, newID: s.newID}
	if req.Fail || req.ErrorCode != "" {
		return s.connectFailed(ctx, b, g, user, emp, req.ErrorCode)
	}

	ds := g.Generate(now, user.ID, emp, days, n)
	acct := ds.Account
	final := *acct // connected and synced

	// What the account looked like along the way: connecting, connected.
	pending := *acct
	pending.WasConnected = false
	pending.Connection = Connection{Status: ConnectionConnecting, UpdatedAt: NewTimestamp(now)}
	pending.Availability = inProgressAvailability(NewTimestamp(now))
	if err := b.account("accounts.added", &pending); err != nil {
		return nil, err
	}
	pending.UpdatedAt = NewTimestamp(b.next())
	if err := b.account("accounts.updated", &pending); err != nil {
		return nil, err
	}
	connected := pending
	connected.WasConnected = true
	connected.UpdatedAt = NewTimestamp(b.next())
	connected.Connection = Connection{Status: ConnectionConnected, UpdatedAt: connected.UpdatedAt}
	if err := b.account("accounts.updated", &connected); err != nil {
		return nil, err
	}
	if err := b.account("accounts.connected", &connected); err != nil {
		return nil, err
	}

	final.WasConnected = true
	final.Connection = connected.Connection
	if err := s.Store.CreateAccount(ctx, tenantID, &final); err != nil {
		return nil, fmt.Errorf("create account: %w", err)
	}
	if err := s.Store.CreateProfile(ctx, tenantID, ds.Profile); err != nil {
		return nil, fmt.Errorf("create profile: %w", err)
	}
	if err := s.Store.CreateActivities(ctx, tenantID, ds.Activities); err != nil {
		return nil, fmt.Errorf("create activities: %w", err)
	}
	if err := s.Store.CreatePayouts(ctx, tenantID, ds.Payouts); err != nil {
		return nil, fmt.Errorf("create payouts: %w", err)
	}

	if err := b.add("profiles.added", nil, nil, "account", acct.ID, "user", user.ID, "profile", ds.Profile.ID); err != nil {
		return nil, err
	}
	hooks, err := s.enabledWebhooks(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	for _, group := range []string{"activities", "payouts"} {
		for _, th := range thresholds(hooks, group+".partially_synced", days) {
			cutoff := now.Add(-time.Duration(th.days) * day)
			sum, err := s.summarize(ctx, tenantID, group, acct.ID, &cutoff)
			if err != nil {
				return nil, err
			}
			pairs := append([]any{"account", acct.ID, "user", user.ID, "days_synced", th.days}, available(sum)...)
			if err := b.add(group+".partially_synced", th.webhooks, nil, pairs...); err != nil {
				return nil, err
			}
		}
		sum, err := s.summarize(ctx, tenantID, group, acct.ID, nil)
		if err != nil {
			return nil, err
		}
		pairs := append([]any{"account", acct.ID, "user", user.ID}, available(sum)...)
		if err := b.add(group+".fully_synced", nil, nil, pairs...); err != nil {
			return nil, err
		}
	}

	// The last update reports the sync done; the stored account is that one.
	final.UpdatedAt = NewTimestamp(b.next())
	if err := b.account("accounts.updated", &final); err != nil {
		return nil, err
	}
	if err := s.Store.UpdateAccount(ctx, tenantID, &final); err != nil {
		return nil, fmt.Errorf("update account: %w", err)
	}

	if !slices.Contains(user.EmployersConnected, emp.Name) {
		user.EmployersConnected = append(user.EmployersConnected, emp.Name)
	}
	if !slices.Contains(user.DataProvidersConnected, emp.LinkItem) {
		user.DataProvidersConnected = append(user.DataProvidersConnected, emp.LinkItem)
	}
	if err := s.Store.UpdateUser(ctx, tenantID, user); err != nil {
		return nil, fmt.Errorf("update user: %w", err)
	}
	res, err := user.Resource()
	if err != nil {
		return nil, err
	}
	if err := b.add("users.fully_synced", nil, res, "user", user.ID); err != nil {
		return nil, err
	}
	if err := b.publish(ctx, s.Events); err != nil {
		return nil, err
	}
	return &final, nil
}

// connectFailed stores an account whose connection failed with code and
// publishes accounts.added, accounts.updated, accounts.failed and
// accounts.updated.
func (s *Simulator) connectFailed(ctx context.Context, b *sequence, g *Generator, user *User, emp Employer, code string) (*Account, error) {
	if code == "" {
		code = DefaultErrorCode
	}
	msg := ErrorCodes[code]
	a := g.Account(b.now, user.ID, emp)
	if err := b.account("accounts.added", a); err != nil {
		return nil, err
	}
	a.UpdatedAt = NewTimestamp(b.next())
	if err := b.account("accounts.updated", a); err != nil {
		return nil, err
	}
	failed := *a
	failed.UpdatedAt = NewTimestamp(b.next())
	failed.Connection = Connection{Status: ConnectionError, ErrorCode: &code, ErrorMessage: &msg, UpdatedAt: failed.UpdatedAt}
	failed.Availability = Availability{}
	if err := s.Store.CreateAccount(ctx, b.tenantID, &failed); err != nil {
		return nil, fmt.Errorf("create account: %w", err)
	}
	res, err := json.Marshal(&failed)
	if err != nil {
		return nil, fmt.Errorf("marshal account: %w", err)
	}
	if err := b.add("accounts.failed", nil, res, "account", a.ID, "user", user.ID, "error_code", code, "error_message", msg); err != nil {
		return nil, err
	}
	if err := b.account("accounts.updated", &failed); err != nil {
		return nil, err
	}
	if err := b.publish(ctx, s.Events); err != nil {
		return nil, err
	}
	return &failed, nil
}

// Refresh simulates a refresh scan of the tenant's connected account: req.Added
// activities newer than every existing one, req.Updated existing ones changed
// (a late tip; updated_at bumped) and req.Removed existing ones gone, plus a
// payout for every pay date passed since the last one. It publishes
// activities.added, .updated and .removed (each only when its count is not
// 0), payouts.added (when payouts were added) and accounts.updated, with
// counts and ranges that agree with the list filters.
// Returns ENOTFOUND if the account does not exist, ECONFLICT if it is not
// connected, and EINVALID if req does not validate or asks to update or
// remove more activities than the account has.
func (s *Simulator) Refresh(ctx context.Context, tenantID, accountID string, req RefreshRequest) (*RefreshResult, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	acct, err := s.Store.FindAccountByID(ctx, tenantID, accountID)
	if err != nil {
		return nil, err
	}
	if acct.Connection.Status != ConnectionConnected {
		return nil, hookd.Errorf(hookd.ECONFLICT, "The account is not connected; only a connected account can be refreshed.")
	}
	existing, total, err := s.Store.FindActivities(ctx, ActivityFilter{TenantID: tenantID, Account: accountID})
	if err != nil {
		return nil, fmt.Errorf("find activities: %w", err)
	}
	var fe hookd.FieldErrors
	if req.Removed > total {
		fe.Add("removed", fmt.Sprintf("Ensure this value is less than or equal to %d, the account's activities.", total))
	}
	if req.Updated > total-min(req.Removed, total) {
		fe.Add("updated", fmt.Sprintf("Ensure updated plus removed is at most %d, the account's activities.", total))
	}
	if total-req.Removed+req.Added > MaxAccountActivities {
		fe.Add("added", fmt.Sprintf("An account holds at most %d activities.", MaxAccountActivities))
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}

	now := s.now()
	g := NewGenerator(s.Seed ^ int64(hash64(accountID)) ^ now.UnixNano())
	g.NewID = s.newID
	emp := LookupEmployer(acct.LinkItem)
	if len(acct.Employers) > 0 {
		emp = LookupEmployer(acct.Employers[0])
	}
	slices.Reverse(existing) // oldest first, so that picks do not depend on map order
	perm := g.rng.Perm(total)
	var updated, removed []*Activity
	for _, i := range perm[:req.Updated] {
		updated = append(updated, existing[i])
	}
	for _, i := range perm[req.Updated : req.Updated+req.Removed] {
		removed = append(removed, existing[i])
	}
	byStart := func(x, y *Activity) int {
		return cmp.Or(x.StartDate.Compare(y.StartDate.Time), cmp.Compare(x.ID, y.ID))
	}
	slices.SortFunc(updated, byStart)
	slices.SortFunc(removed, byStart)

	lo := now.Add(-day)
	if total > 0 {
		lo = existing[total-1].StartDate.Add(time.Second)
	}
	added := g.Activities(now, acct, emp, req.Added, lo)
	for _, a := range updated {
		g.Revise(now, a)
	}
	if err := s.Store.CreateActivities(ctx, tenantID, added); err != nil {
		return nil, fmt.Errorf("create activities: %w", err)
	}
	if err := s.Store.UpdateActivities(ctx, tenantID, updated); err != nil {
		return nil, fmt.Errorf("update activities: %w", err)
	}
	if err := s.Store.DeleteActivities(ctx, tenantID, ids(removed)); err != nil {
		return nil, fmt.Errorf("delete activities: %w", err)
	}

	// Payouts for every pay date since the last payout (or the connect).
	last, _, err := s.Store.FindPayouts(ctx, PayoutFilter{TenantID: tenantID, Account: accountID, Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("find payouts: %w", err)
	}
	after, prev := acct.CreatedAt.Time, (*Payout)(nil)
	if len(last) > 0 {
		after, prev = last[0].PayoutDate.Time, last[0]
	}
	var payouts []*Payout
	if len(PayDates(after, now)) > 0 {
		all, _, err := s.Store.FindActivities(ctx, ActivityFilter{TenantID: tenantID, Account: accountID, FromStartDate: ptr(after.Add(-payPeriod - 5*day))})
		if err != nil {
			return nil, fmt.Errorf("find activities: %w", err)
		}
		payouts = g.Payouts(now, acct, emp, all, after, prev)
		if err := s.Store.CreatePayouts(ctx, tenantID, payouts); err != nil {
			return nil, fmt.Errorf("create payouts: %w", err)
		}
	}

	acts, err := s.summarize(ctx, tenantID, "activities", accountID, nil)
	if err != nil {
		return nil, err
	}
	pays, err := s.summarize(ctx, tenantID, "payouts", accountID, nil)
	if err != nil {
		return nil, err
	}
	b := &sequence{tenantID: tenantID, now: now, newID: s.newID}
	head := []any{"account", acct.ID, "user", acct.User}
	if len(added) > 0 {
		sum := summarizeActivities(added)
		pairs := append(append(slices.Clone(head), "added_from", dateTimePtr(sum.From), "added_to", dateTimePtr(sum.To), "added_count", sum.Count), available(acts)...)
		if err := b.add("activities.added", nil, nil, pairs...); err != nil {
			return nil, err
		}
	}
	if len(updated) > 0 {
		sum := summarizeActivities(updated)
		pairs := append(append(slices.Clone(head), "updated_from", dateTimePtr(sum.From), "updated_to", dateTimePtr(sum.To),
			"updated_count", sum.Count, "updated_activities", ids(updated)), available(acts)...)
		if err := b.add("activities.updated", nil, nil, pairs...); err != nil {
			return nil, err
		}
	}
	if len(removed) > 0 {
		// Argyle's own example puts available_* before removed_*.
		sum := summarizeActivities(removed)
		pairs := append(append(slices.Clone(head), available(acts)...), "removed_from", dateTimePtr(sum.From), "removed_to", dateTimePtr(sum.To),
			"removed_count", sum.Count, "removed_activities", ids(removed))
		if err := b.add("activities.removed", nil, nil, pairs...); err != nil {
			return nil, err
		}
	}
	if len(payouts) > 0 {
		sum := summarizePayouts(payouts)
		pairs := append(append(slices.Clone(head), "added_from", dateTimePtr(sum.From), "added_to", dateTimePtr(sum.To), "added_count", sum.Count), available(pays)...)
		if err := b.add("payouts.added", nil, nil, pairs...); err != nil {
			return nil, err
		}
	}
	acct.UpdatedAt = NewTimestamp(b.next())
	acct.Availability.Activities = series(NewTimestamp(now), acts)
	acct.Availability.Payouts = series(NewTimestamp(now), pays)
	if err := s.Store.UpdateAccount(ctx, tenantID, acct); err != nil {
		return nil, fmt.Errorf("update account: %w", err)
	}
	if err := b.account("accounts.updated", acct); err != nil {
		return nil, err
	}
	if err := b.publish(ctx, s.Events); err != nil {
		return nil, err
	}
	return &RefreshResult{Account: acct, Added: ids(added), Updated: ids(updated), Removed: ids(removed), PayoutsAdded: payoutIDs(payouts)}, nil
}

// Remove deletes the tenant's account with all its data and publishes
// accounts.removed, and nothing else. Returns ENOTFOUND if the account
// does not exist.
func (s *Simulator) Remove(ctx context.Context, tenantID, accountID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	acct, err := s.Store.FindAccountByID(ctx, tenantID, accountID)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteAccount(ctx, tenantID, accountID); err != nil {
		return err
	}
	b := &sequence{tenantID: tenantID, now: s.now(), newID: s.newID}
	if err := b.add("accounts.removed", nil, nil, "account", acct.ID, "user", acct.User); err != nil {
		return err
	}
	return b.publish(ctx, s.Events)
}

// summarize returns what /v1/activities (or /v1/payouts) holds for the
// account from the time given.
func (s *Simulator) summarize(ctx context.Context, tenantID, group, accountID string, from *time.Time) (Summary, error) {
	var sum Summary
	var err error
	if group == "activities" {
		sum, err = s.Store.SummarizeActivities(ctx, ActivityFilter{TenantID: tenantID, Account: accountID, FromStartDate: from})
	} else {
		sum, err = s.Store.SummarizePayouts(ctx, PayoutFilter{TenantID: tenantID, Account: accountID, FromStartDate: from})
	}
	if err != nil {
		return Summary{}, fmt.Errorf("summarize %s: %w", group, err)
	}
	return sum, nil
}

// enabledWebhooks returns the tenant's enabled webhooks.
func (s *Simulator) enabledWebhooks(ctx context.Context, tenantID string) ([]*hookd.Webhook, error) {
	var out []*hookd.Webhook
	if s.Webhooks == nil {
		return nil, nil
	}
	page := hookd.Page{Limit: 200}
	for range 10_000 { // a bound, never reached: 2 million webhooks
		ws, more, err := s.Webhooks.FindWebhooks(ctx, hookd.WebhookFilter{TenantID: tenantID, Ordering: hookd.OrderID, Page: page})
		if err != nil {
			return nil, fmt.Errorf("find webhooks: %w", err)
		}
		for _, w := range ws {
			if w.Status == hookd.WebhookEnabled {
				out = append(out, w)
			}
		}
		if !more || len(ws) == 0 {
			break
		}
		page.After = &hookd.Cursor{ID: ws[len(ws)-1].ID}
	}
	return out, nil
}

// threshold is one distinct days_synced and the webhooks that use it.
type threshold struct {
	days     int
	webhooks []string
}

// thresholds returns the distinct days_synced values shorter than the
// history among the webhooks subscribed to event, smallest first.
func thresholds(hooks []*hookd.Webhook, event string, history int) []threshold {
	byDays := make(map[int][]string)
	for _, w := range hooks {
		if d := w.Config.Days(); w.Subscribes(event) && d < history {
			byDays[d] = append(byDays[d], w.ID)
		}
	}
	out := make([]threshold, 0, len(byDays))
	for d, ws := range byDays {
		out = append(out, threshold{d, ws})
	}
	slices.SortFunc(out, func(a, b threshold) int { return cmp.Compare(a.days, b.days) })
	return out
}

// available returns the available_* members of a payload.
func available(sum Summary) []any {
	return []any{"available_from", dateTimePtr(sum.From), "available_to", dateTimePtr(sum.To), "available_count", sum.Count}
}

func ids(as []*Activity) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

func payoutIDs(ps []*Payout) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// sequence collects the events of one simulated step, each created a
// microsecond after the one before, so that they sort in the order sent.
type sequence struct {
	tenantID string
	now      time.Time
	newID    func() string
	events   []*hookd.Event
}

// at returns the time of the ith event of the sequence.
func (b *sequence) at(i int) time.Time { return b.now.Add(time.Duration(i) * time.Microsecond) }

// next returns the time of the next event added.
func (b *sequence) next() time.Time { return b.at(len(b.events)) }

// add appends an event of type typ whose data holds pairs (alternating keys
// and values), restricted to webhooks when that is not nil.
func (b *sequence) add(typ string, webhooks []string, resource json.RawMessage, pairs ...any) error {
	data, err := orderedJSON(pairs...)
	if err != nil {
		return fmt.Errorf("%s data: %w", typ, err)
	}
	if data, err = hookd.NormalizeData(data); err != nil {
		return fmt.Errorf("%s data: %w", typ, err)
	}
	e := &hookd.Event{
		ID:        b.newID(),
		TenantID:  b.tenantID,
		Type:      typ,
		Data:      data,
		Resource:  resource,
		Webhooks:  webhooks,
		CreatedAt: b.next(),
	}
	if err := e.Validate(); err != nil {
		return fmt.Errorf("%s: %w", typ, err)
	}
	b.events = append(b.events, e)
	return nil
}

// account appends an accounts.* event about a, with a as it stands now as
// the resource.
func (b *sequence) account(typ string, a *Account) error {
	res, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("marshal account: %w", err)
	}
	return b.add(typ, nil, res, "account", a.ID, "user", a.User)
}

func (b *sequence) publish(ctx context.Context, es hookd.EventService) error {
	if len(b.events) == 0 {
		return nil
	}
	if _, err := es.PublishEvents(ctx, b.events); err != nil {
		return fmt.Errorf("publish events: %w", err)
	}
	return nil
}
