package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sandbox"
)

// SandboxStore stores the sandbox's simulated users, accounts, activities,
// payouts and profiles in the hookd database (migration 0002), one table
// per object: the columns the lists filter and sort on, and the object
// itself as JSON. Writes go through the DB's group commit, each call in one
// savepoint, so a batch call stores all of its objects or none.
type SandboxStore struct {
	db *DB
}

var (
	_ sandbox.Store          = (*SandboxStore)(nil)
	_ sandbox.ActivityFinder = (*SandboxStore)(nil)
)

// NewSandboxStore returns the sandbox store on db.
func NewSandboxStore(db *DB) *SandboxStore {
	return &SandboxStore{db: db}
}

func notFound(what, id string) error {
	return hookd.Errorf(hookd.ENOTFOUND, "%s %s not found.", what, id)
}

func conflict(what, id string) error {
	return hookd.Errorf(hookd.ECONFLICT, "%s %s already exists.", what, id)
}

// insert runs an INSERT and reports a duplicate key as ECONFLICT naming
// what and id.
func insert(tx *Tx, what, id, query string, args ...any) error {
	_, err := tx.exec(query, args...)
	if err = interpretError(err); hookd.ErrorCode(err) == hookd.ECONFLICT {
		return conflict(what, id)
	}
	return err
}

// mustAffect returns ENOTFOUND for what and id unless res changed a row.
func mustAffect(res sql.Result, what, id string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(what, id)
	}
	return nil
}

// fromBound and toBound store the inclusive time bounds of a filter. Stored
// times have microsecond precision, so a lower bound rounds up and an upper
// bound rounds down to whole microseconds without changing what matches.
func fromBound(t time.Time) int64 {
	us := micros(t)
	if fromMicros(us).Before(t) {
		us++
	}
	return us
}

func toBound(t time.Time) int64 { return micros(t) }

// conditions collects a WHERE clause and its arguments.
type conditions struct {
	where []string
	args  []any
}

func (c *conditions) add(cond string, arg any) {
	c.where = append(c.where, cond)
	c.args = append(c.args, arg)
}

// eq adds column = value unless value is "".
func (c *conditions) eq(column, value string) {
	if value != "" {
		c.add(column+" = ?", value)
	}
}

// between adds the inclusive bounds on column that are set.
func (c *conditions) between(column string, from, to *time.Time) {
	if from != nil {
		c.add(column+" >= ?", fromBound(*from))
	}
	if to != nil {
		c.add(column+" <= ?", toBound(*to))
	}
}

func (c *conditions) sql() string { return strings.Join(c.where, " AND ") }

// findPage reads a page of table's documents matching c in order, with the
// number of matches, in one read transaction so that both agree. A limit
// of 0 reads every match.
func findPage[T any](ctx context.Context, db *DB, table string, c conditions, order string, limit, offset int) ([]*T, int, error) {
	tx, err := db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE `+c.sql(), c.args...).Scan(&n); err != nil {
		return nil, 0, err
	}
	if limit <= 0 {
		limit = -1 // no limit
	}
	args := append(c.args[:len(c.args):len(c.args)], limit, max(offset, 0))
	rows, err := tx.QueryContext(ctx, `SELECT doc FROM `+table+` WHERE `+c.sql()+` ORDER BY `+order+` LIMIT ? OFFSET ?`, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		v, err := scanDoc[T](rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	return out, n, nil
}

// scanDoc scans one doc column into a new T.
func scanDoc[T any](row interface{ Scan(...any) error }) (*T, error) {
	var doc []byte
	if err := row.Scan(&doc); err != nil {
		return nil, interpretError(err)
	}
	v := new(T)
	if err := json.Unmarshal(doc, v); err != nil {
		return nil, fmt.Errorf("decode %T: %w", v, err)
	}
	return v, nil
}

func marshalDoc(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return b, nil
}

// CreateUser implements sandbox.Store.
func (s *SandboxStore) CreateUser(ctx context.Context, tenantID string, u *sandbox.User) error {
	doc, err := marshalDoc(u)
	if err != nil {
		return err
	}
	err = s.db.write(ctx, func(tx *Tx) error {
		return insert(tx, "User", u.ID, `INSERT INTO sandbox_users (tenant_id, id, created_at, doc) VALUES (?, ?, ?, ?)`,
			tenantID, u.ID, micros(u.CreatedAt.Time), doc)
	})
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// FindUserByID implements sandbox.Store.
func (s *SandboxStore) FindUserByID(ctx context.Context, tenantID, id string) (*sandbox.User, error) {
	u, err := scanDoc[sandbox.User](s.db.reader.QueryRowContext(ctx,
		`SELECT doc FROM sandbox_users WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if hookd.ErrorCode(err) == hookd.ENOTFOUND {
		return nil, notFound("User", id)
	} else if err != nil {
		return nil, fmt.Errorf("find user %s: %w", id, err)
	}
	return u, nil
}

// UpdateUser implements sandbox.Store.
func (s *SandboxStore) UpdateUser(ctx context.Context, tenantID string, u *sandbox.User) error {
	doc, err := marshalDoc(u)
	if err != nil {
		return err
	}
	err = s.db.write(ctx, func(tx *Tx) error {
		res, err := tx.exec(`UPDATE sandbox_users SET created_at = ?, doc = ? WHERE tenant_id = ? AND id = ?`,
			micros(u.CreatedAt.Time), doc, tenantID, u.ID)
		if err != nil {
			return err
		}
		return mustAffect(res, "User", u.ID)
	})
	if err != nil {
		return fmt.Errorf("update user %s: %w", u.ID, err)
	}
	return nil
}

// CreateAccount implements sandbox.Store.
func (s *SandboxStore) CreateAccount(ctx context.Context, tenantID string, a *sandbox.Account) error {
	doc, err := marshalDoc(a)
	if err != nil {
		return err
	}
	err = s.db.write(ctx, func(tx *Tx) error {
		var one int
		if err := tx.queryRow(`SELECT 1 FROM sandbox_users WHERE tenant_id = ? AND id = ?`, tenantID, a.User).Scan(&one); err != nil {
			if hookd.ErrorCode(interpretError(err)) == hookd.ENOTFOUND {
				return notFound("User", a.User)
			}
			return err
		}
		return insert(tx, "Account", a.ID, `INSERT INTO sandbox_accounts (tenant_id, id, user_id, created_at, doc) VALUES (?, ?, ?, ?, ?)`,
			tenantID, a.ID, a.User, micros(a.CreatedAt.Time), doc)
	})
	if err != nil {
		return fmt.Errorf("create account: %w", err)
	}
	return nil
}

// FindAccountByID implements sandbox.Store.
func (s *SandboxStore) FindAccountByID(ctx context.Context, tenantID, id string) (*sandbox.Account, error) {
	a, err := scanDoc[sandbox.Account](s.db.reader.QueryRowContext(ctx,
		`SELECT doc FROM sandbox_accounts WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if hookd.ErrorCode(err) == hookd.ENOTFOUND {
		return nil, notFound("Account", id)
	} else if err != nil {
		return nil, fmt.Errorf("find account %s: %w", id, err)
	}
	return a, nil
}

// FindAccounts implements sandbox.Store.
func (s *SandboxStore) FindAccounts(ctx context.Context, filter sandbox.AccountFilter) ([]*sandbox.Account, int, error) {
	var c conditions
	c.add("tenant_id = ?", filter.TenantID)
	c.eq("user_id", filter.User)
	as, n, err := findPage[sandbox.Account](ctx, s.db, "sandbox_accounts", c, "created_at, id", filter.Limit, filter.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("find accounts: %w", err)
	}
	return as, n, nil
}

// UpdateAccount implements sandbox.Store. The account's user is not
// changed.
func (s *SandboxStore) UpdateAccount(ctx context.Context, tenantID string, a *sandbox.Account) error {
	doc, err := marshalDoc(a)
	if err != nil {
		return err
	}
	err = s.db.write(ctx, func(tx *Tx) error {
		res, err := tx.exec(`UPDATE sandbox_accounts SET created_at = ?, doc = ? WHERE tenant_id = ? AND id = ?`,
			micros(a.CreatedAt.Time), doc, tenantID, a.ID)
		if err != nil {
			return err
		}
		return mustAffect(res, "Account", a.ID)
	})
	if err != nil {
		return fmt.Errorf("update account %s: %w", a.ID, err)
	}
	return nil
}

// DeleteAccount implements sandbox.Store. Its activities, payouts and
// profiles go by the foreign keys' cascade, in the same statement.
func (s *SandboxStore) DeleteAccount(ctx context.Context, tenantID, id string) error {
	err := s.db.write(ctx, func(tx *Tx) error {
		res, err := tx.exec(`DELETE FROM sandbox_accounts WHERE tenant_id = ? AND id = ?`, tenantID, id)
		if err != nil {
			return err
		}
		return mustAffect(res, "Account", id)
	})
	if err != nil {
		return fmt.Errorf("delete account %s: %w", id, err)
	}
	return nil
}

// accountUsers returns the user of each distinct account in ids, or
// ENOTFOUND for the first that the tenant does not have.
func accountUsers(tx *Tx, tenantID string, ids []string) (map[string]string, error) {
	users := make(map[string]string)
	for _, id := range ids {
		if _, ok := users[id]; ok {
			continue
		}
		var user string
		err := tx.queryRow(`SELECT user_id FROM sandbox_accounts WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&user)
		if err != nil {
			if hookd.ErrorCode(interpretError(err)) == hookd.ENOTFOUND {
				return nil, notFound("Account", id)
			}
			return nil, err
		}
		users[id] = user
	}
	return users, nil
}

// CreateActivities implements sandbox.Store.
func (s *SandboxStore) CreateActivities(ctx context.Context, tenantID string, activities []*sandbox.Activity) error {
	if len(activities) == 0 {
		return nil
	}
	docs := make([][]byte, len(activities))
	accounts := make([]string, len(activities))
	for i, a := range activities {
		var err error
		if docs[i], err = marshalDoc(a); err != nil {
			return err
		}
		accounts[i] = a.Account
	}
	err := s.db.write(ctx, func(tx *Tx) error {
		users, err := accountUsers(tx, tenantID, accounts)
		if err != nil {
			return err
		}
		for i, a := range activities {
			if err := insert(tx, "Activity", a.ID, `INSERT INTO sandbox_activities
				(tenant_id, id, account_id, user_id, start_date, updated_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				tenantID, a.ID, a.Account, users[a.Account], micros(a.StartDate.Time), micros(a.UpdatedAt.Time), docs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create activities: %w", err)
	}
	return nil
}

// UpdateActivities implements sandbox.Store. An activity's account is not
// changed.
func (s *SandboxStore) UpdateActivities(ctx context.Context, tenantID string, activities []*sandbox.Activity) error {
	if len(activities) == 0 {
		return nil
	}
	docs := make([][]byte, len(activities))
	for i, a := range activities {
		var err error
		if docs[i], err = marshalDoc(a); err != nil {
			return err
		}
	}
	err := s.db.write(ctx, func(tx *Tx) error {
		for i, a := range activities {
			res, err := tx.exec(`UPDATE sandbox_activities SET start_date = ?, updated_at = ?, doc = ? WHERE tenant_id = ? AND id = ?`,
				micros(a.StartDate.Time), micros(a.UpdatedAt.Time), docs[i], tenantID, a.ID)
			if err != nil {
				return err
			}
			if err := mustAffect(res, "Activity", a.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("update activities: %w", err)
	}
	return nil
}

// DeleteActivities implements sandbox.Store.
func (s *SandboxStore) DeleteActivities(ctx context.Context, tenantID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.db.write(ctx, func(tx *Tx) error {
		seen := make(map[string]bool, len(ids))
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			res, err := tx.exec(`DELETE FROM sandbox_activities WHERE tenant_id = ? AND id = ?`, tenantID, id)
			if err != nil {
				return err
			}
			if err := mustAffect(res, "Activity", id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete activities: %w", err)
	}
	return nil
}

// FindActivityByID implements sandbox.ActivityFinder.
func (s *SandboxStore) FindActivityByID(ctx context.Context, tenantID, id string) (*sandbox.Activity, error) {
	a, err := scanDoc[sandbox.Activity](s.db.reader.QueryRowContext(ctx,
		`SELECT doc FROM sandbox_activities WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if hookd.ErrorCode(err) == hookd.ENOTFOUND {
		return nil, notFound("Activity", id)
	} else if err != nil {
		return nil, fmt.Errorf("find activity %s: %w", id, err)
	}
	return a, nil
}

func activityConditions(f sandbox.ActivityFilter) conditions {
	var c conditions
	c.add("tenant_id = ?", f.TenantID)
	c.eq("account_id", f.Account)
	c.eq("user_id", f.User)
	c.between("start_date", f.FromStartDate, f.ToStartDate)
	c.between("updated_at", f.FromUpdatedAt, f.ToUpdatedAt)
	return c
}

// FindActivities implements sandbox.Store.
func (s *SandboxStore) FindActivities(ctx context.Context, filter sandbox.ActivityFilter) ([]*sandbox.Activity, int, error) {
	as, n, err := findPage[sandbox.Activity](ctx, s.db, "sandbox_activities", activityConditions(filter),
		"start_date DESC, id DESC", filter.Limit, filter.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("find activities: %w", err)
	}
	return as, n, nil
}

// summarize counts table's rows matching c and finds the least and
// greatest of column among them.
func (s *SandboxStore) summarize(ctx context.Context, table, column string, c conditions) (sandbox.Summary, error) {
	var sum sandbox.Summary
	var lo, hi sql.NullInt64
	err := s.db.reader.QueryRowContext(ctx, `SELECT count(*), min(`+column+`), max(`+column+`) FROM `+table+` WHERE `+c.sql(), c.args...).
		Scan(&sum.Count, &lo, &hi)
	if err != nil {
		return sandbox.Summary{}, err
	}
	if sum.Count > 0 {
		sum.From, sum.To = fromNullMicros(lo), fromNullMicros(hi)
	}
	return sum, nil
}

// SummarizeActivities implements sandbox.Store.
func (s *SandboxStore) SummarizeActivities(ctx context.Context, filter sandbox.ActivityFilter) (sandbox.Summary, error) {
	sum, err := s.summarize(ctx, "sandbox_activities", "start_date", activityConditions(filter))
	if err != nil {
		return sandbox.Summary{}, fmt.Errorf("summarize activities: %w", err)
	}
	return sum, nil
}

// CreatePayouts implements sandbox.Store.
func (s *SandboxStore) CreatePayouts(ctx context.Context, tenantID string, payouts []*sandbox.Payout) error {
	if len(payouts) == 0 {
		return nil
	}
	docs := make([][]byte, len(payouts))
	accounts := make([]string, len(payouts))
	for i, p := range payouts {
		var err error
		if docs[i], err = marshalDoc(p); err != nil {
			return err
		}
		accounts[i] = p.Account
	}
	err := s.db.write(ctx, func(tx *Tx) error {
		users, err := accountUsers(tx, tenantID, accounts)
		if err != nil {
			return err
		}
		for i, p := range payouts {
			if err := insert(tx, "Payout", p.ID, `INSERT INTO sandbox_payouts
				(tenant_id, id, account_id, user_id, payout_date, updated_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				tenantID, p.ID, p.Account, users[p.Account], micros(p.PayoutDate.Time), micros(p.UpdatedAt.Time), docs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create payouts: %w", err)
	}
	return nil
}

func payoutConditions(f sandbox.PayoutFilter) conditions {
	var c conditions
	c.add("tenant_id = ?", f.TenantID)
	c.eq("account_id", f.Account)
	c.eq("user_id", f.User)
	c.between("payout_date", f.FromStartDate, f.ToStartDate)
	c.between("updated_at", f.FromUpdatedAt, f.ToUpdatedAt)
	return c
}

// FindPayouts implements sandbox.Store.
func (s *SandboxStore) FindPayouts(ctx context.Context, filter sandbox.PayoutFilter) ([]*sandbox.Payout, int, error) {
	ps, n, err := findPage[sandbox.Payout](ctx, s.db, "sandbox_payouts", payoutConditions(filter),
		"payout_date DESC, id DESC", filter.Limit, filter.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("find payouts: %w", err)
	}
	return ps, n, nil
}

// SummarizePayouts implements sandbox.Store.
func (s *SandboxStore) SummarizePayouts(ctx context.Context, filter sandbox.PayoutFilter) (sandbox.Summary, error) {
	sum, err := s.summarize(ctx, "sandbox_payouts", "payout_date", payoutConditions(filter))
	if err != nil {
		return sandbox.Summary{}, fmt.Errorf("summarize payouts: %w", err)
	}
	return sum, nil
}

// CreateProfile implements sandbox.Store.
func (s *SandboxStore) CreateProfile(ctx context.Context, tenantID string, p *sandbox.Profile) error {
	doc, err := marshalDoc(p)
	if err != nil {
		return err
	}
	err = s.db.write(ctx, func(tx *Tx) error {
		users, err := accountUsers(tx, tenantID, []string{p.Account})
		if err != nil {
			return err
		}
		return insert(tx, "Profile", p.ID, `INSERT INTO sandbox_profiles (tenant_id, id, account_id, user_id, created_at, doc) VALUES (?, ?, ?, ?, ?, ?)`,
			tenantID, p.ID, p.Account, users[p.Account], micros(p.CreatedAt.Time), doc)
	})
	if err != nil {
		return fmt.Errorf("create profile: %w", err)
	}
	return nil
}

// FindProfiles implements sandbox.Store.
func (s *SandboxStore) FindProfiles(ctx context.Context, filter sandbox.ProfileFilter) ([]*sandbox.Profile, int, error) {
	var c conditions
	c.add("tenant_id = ?", filter.TenantID)
	c.eq("account_id", filter.Account)
	c.eq("user_id", filter.User)
	ps, n, err := findPage[sandbox.Profile](ctx, s.db, "sandbox_profiles", c, "created_at, id", filter.Limit, filter.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("find profiles: %w", err)
	}
	return ps, n, nil
}
