package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sandbox"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// SandboxStore stores the sandbox's simulated users, accounts, activities,
// payouts and profiles in the hookd database (migration 0002), one table
// per object: the columns the lists filter and sort on, and the object
// itself as JSON. A call that stores several objects does it in one
// transaction, all or none, with one statement over arrays.
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

// interpretSandboxError is interpretError naming what and id in the
// conflict a duplicate key makes.
func interpretSandboxError(err error, what, id string) error {
	if err = interpretError(err); hookd.ErrorCode(err) == hookd.ECONFLICT {
		return conflict(what, id)
	}
	return err
}

// mustAffect returns ENOTFOUND for what and id unless tag changed a row.
func mustAffect(tag pgconn.CommandTag, what, id string) error {
	if tag.RowsAffected() == 0 {
		return notFound(what, id)
	}
	return nil
}

// fromBound and toBound store the inclusive time bounds of a filter. Stored
// times have microsecond precision, so a lower bound rounds up and an upper
// bound rounds down to whole microseconds without changing what matches.
func fromBound(t time.Time) time.Time {
	us := ts(t)
	if us.Before(t) {
		us = us.Add(time.Microsecond)
	}
	return us
}

func toBound(t time.Time) time.Time { return ts(t) }

// conditions collects a WHERE clause and its arguments, numbered $1, $2, ….
type conditions struct {
	where []string
	args  []any
}

// add appends cond; "?" in it stands for arg's placeholder.
func (c *conditions) add(cond string, arg any) {
	c.args = append(c.args, arg)
	c.where = append(c.where, strings.Replace(cond, "?", fmt.Sprintf("$%d", len(c.args)), 1))
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
// number of matches, in one snapshot so that both agree. A limit of 0 reads
// every match.
func findPage[T any](ctx context.Context, db *DB, table string, c conditions, order string, limit, offset int) ([]*T, int, error) {
	var out []*T
	var n int
	err := pgx.BeginTxFunc(ctx, db.pool, snapshot, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE `+c.sql(), c.args...).Scan(&n); err != nil {
			return err
		}
		query := `SELECT doc::text FROM ` + table + ` WHERE ` + c.sql() + ` ORDER BY ` + order
		args := c.args[:len(c.args):len(c.args)]
		if limit > 0 {
			args = append(args, limit)
			query += fmt.Sprintf(" LIMIT $%d", len(args))
		}
		args = append(args, max(offset, 0))
		query += fmt.Sprintf(" OFFSET $%d", len(args))
		rows, err := tx.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*T, error) { return scanDoc[T](row) })
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, n, nil
}

// scanDoc scans one doc column, read as text, into a new T.
func scanDoc[T any](row rowScanner) (*T, error) {
	var doc string
	if err := row.Scan(&doc); err != nil {
		return nil, interpretError(err)
	}
	v := new(T)
	if err := json.Unmarshal([]byte(doc), v); err != nil {
		return nil, fmt.Errorf("decode %T: %w", v, err)
	}
	return v, nil
}

func marshalDoc(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode %T: %w", v, err)
	}
	return string(b), nil
}

// findDoc reads the tenant's object with id from table, or ENOTFOUND naming
// what.
func findDoc[T any](ctx context.Context, db *DB, table, what, tenantID, id string) (*T, error) {
	v, err := scanDoc[T](db.pool.QueryRow(ctx, `SELECT doc::text FROM `+table+` WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if hookd.ErrorCode(err) == hookd.ENOTFOUND {
		return nil, notFound(what, id)
	}
	return v, err
}

// CreateUser implements sandbox.Store.
func (s *SandboxStore) CreateUser(ctx context.Context, tenantID string, u *sandbox.User) error {
	doc, err := marshalDoc(u)
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	if _, err := s.db.pool.Exec(ctx, `INSERT INTO sandbox_users (tenant_id, id, created_at, doc) VALUES ($1, $2, $3, $4)`,
		tenantID, u.ID, ts(u.CreatedAt.Time), doc); err != nil {
		return fmt.Errorf("create user: %w", interpretSandboxError(err, "User", u.ID))
	}
	return nil
}

// FindUserByID implements sandbox.Store.
func (s *SandboxStore) FindUserByID(ctx context.Context, tenantID, id string) (*sandbox.User, error) {
	u, err := findDoc[sandbox.User](ctx, s.db, "sandbox_users", "User", tenantID, id)
	if err != nil {
		return nil, fmt.Errorf("find user %s: %w", id, err)
	}
	return u, nil
}

// UpdateUser implements sandbox.Store.
func (s *SandboxStore) UpdateUser(ctx context.Context, tenantID string, u *sandbox.User) error {
	doc, err := marshalDoc(u)
	if err != nil {
		return fmt.Errorf("update user %s: %w", u.ID, err)
	}
	tag, err := s.db.pool.Exec(ctx, `UPDATE sandbox_users SET created_at = $1, doc = $2 WHERE tenant_id = $3 AND id = $4`,
		ts(u.CreatedAt.Time), doc, tenantID, u.ID)
	if err == nil {
		err = mustAffect(tag, "User", u.ID)
	}
	if err != nil {
		return fmt.Errorf("update user %s: %w", u.ID, interpretError(err))
	}
	return nil
}

// CreateAccount implements sandbox.Store.
func (s *SandboxStore) CreateAccount(ctx context.Context, tenantID string, a *sandbox.Account) error {
	doc, err := marshalDoc(a)
	if err != nil {
		return fmt.Errorf("create account: %w", err)
	}
	tag, err := s.db.pool.Exec(ctx, `INSERT INTO sandbox_accounts (tenant_id, id, user_id, created_at, doc)
		SELECT tenant_id, $2, id, $4, $5 FROM sandbox_users WHERE tenant_id = $1 AND id = $3`,
		tenantID, a.ID, a.User, ts(a.CreatedAt.Time), doc)
	if err != nil {
		return fmt.Errorf("create account: %w", interpretSandboxError(err, "Account", a.ID))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("create account: %w", notFound("User", a.User))
	}
	return nil
}

// FindAccountByID implements sandbox.Store.
func (s *SandboxStore) FindAccountByID(ctx context.Context, tenantID, id string) (*sandbox.Account, error) {
	a, err := findDoc[sandbox.Account](ctx, s.db, "sandbox_accounts", "Account", tenantID, id)
	if err != nil {
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
		return fmt.Errorf("update account %s: %w", a.ID, err)
	}
	tag, err := s.db.pool.Exec(ctx, `UPDATE sandbox_accounts SET created_at = $1, doc = $2 WHERE tenant_id = $3 AND id = $4`,
		ts(a.CreatedAt.Time), doc, tenantID, a.ID)
	if err == nil {
		err = mustAffect(tag, "Account", a.ID)
	}
	if err != nil {
		return fmt.Errorf("update account %s: %w", a.ID, interpretError(err))
	}
	return nil
}

// DeleteAccount implements sandbox.Store. Its activities, payouts and
// profiles go by the foreign keys' cascade, in the same statement.
func (s *SandboxStore) DeleteAccount(ctx context.Context, tenantID, id string) error {
	tag, err := s.db.pool.Exec(ctx, `DELETE FROM sandbox_accounts WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	if err == nil {
		err = mustAffect(tag, "Account", id)
	}
	if err != nil {
		return fmt.Errorf("delete account %s: %w", id, err)
	}
	return nil
}

// dataRow is an activity or payout as its table stores it.
type dataRow struct {
	id, account string
	date        time.Time // start_date or payout_date
	updated     time.Time
	doc         string
}

// insertData stores rows in table (sandbox_activities or sandbox_payouts,
// whose date column is dateColumn) in one transaction, all or none. It
// returns ENOTFOUND naming the first account the tenant does not have, and
// ECONFLICT naming the first ID the tenant has already or that rows repeat.
func (s *SandboxStore) insertData(ctx context.Context, tenantID, table, dateColumn, what string, rows []dataRow) error {
	n := len(rows)
	ids, accounts, dates, updated, docs := make([]string, n), make([]string, n), make([]time.Time, n), make([]time.Time, n), make([]string, n)
	seen := make(map[string]bool, n)
	for i, r := range rows {
		if seen[r.id] {
			return conflict(what, r.id)
		}
		seen[r.id] = true
		ids[i], accounts[i], dates[i], updated[i], docs[i] = r.id, r.account, ts(r.date), ts(r.updated), r.doc
	}
	return s.db.inTx(ctx, func(tx pgx.Tx) error {
		// Accounts the tenant has, locked against deletion until commit.
		found, err := tx.Query(ctx, `SELECT id FROM sandbox_accounts WHERE tenant_id = $1 AND id = ANY($2) FOR KEY SHARE`,
			tenantID, accounts)
		if err != nil {
			return err
		}
		have, err := pgx.CollectRows(found, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, a := range accounts {
			if !slices.Contains(have, a) {
				return notFound("Account", a)
			}
		}
		var taken string
		err = tx.QueryRow(ctx, `SELECT id FROM `+table+` WHERE tenant_id = $1 AND id = ANY($2) ORDER BY id LIMIT 1`,
			tenantID, ids).Scan(&taken)
		if err == nil {
			return conflict(what, taken)
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO `+table+` (tenant_id, id, account_id, user_id, `+dateColumn+`, updated_at, doc)
			SELECT a.tenant_id, u.id, a.id, a.user_id, u.date, u.updated_at, u.doc::json
			FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::text[])
				AS u(id, account_id, date, updated_at, doc)
			JOIN sandbox_accounts a ON a.tenant_id = $1 AND a.id = u.account_id`,
			tenantID, ids, accounts, dates, updated, docs)
		return interpretError(err)
	})
}

// CreateActivities implements sandbox.Store.
func (s *SandboxStore) CreateActivities(ctx context.Context, tenantID string, activities []*sandbox.Activity) error {
	if len(activities) == 0 {
		return nil
	}
	rows := make([]dataRow, len(activities))
	for i, a := range activities {
		doc, err := marshalDoc(a)
		if err != nil {
			return fmt.Errorf("create activities: %w", err)
		}
		rows[i] = dataRow{id: a.ID, account: a.Account, date: a.StartDate.Time, updated: a.UpdatedAt.Time, doc: doc}
	}
	if err := s.insertData(ctx, tenantID, "sandbox_activities", "start_date", "Activity", rows); err != nil {
		return fmt.Errorf("create activities: %w", err)
	}
	return nil
}

// UpdateActivities implements sandbox.Store. An activity's account is not
// changed. When activities repeat an ID, the last one is stored.
func (s *SandboxStore) UpdateActivities(ctx context.Context, tenantID string, activities []*sandbox.Activity) error {
	if len(activities) == 0 {
		return nil
	}
	last := make(map[string]int, len(activities))
	for i, a := range activities {
		last[a.ID] = i
	}
	var ids, docs []string
	var dates, updated []time.Time
	for i, a := range activities {
		if last[a.ID] != i {
			continue
		}
		doc, err := marshalDoc(a)
		if err != nil {
			return fmt.Errorf("update activities: %w", err)
		}
		ids, docs = append(ids, a.ID), append(docs, doc)
		dates, updated = append(dates, ts(a.StartDate.Time)), append(updated, ts(a.UpdatedAt.Time))
	}
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE sandbox_activities t SET start_date = u.start_date, updated_at = u.updated_at, doc = u.doc::json
			FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[], $5::text[]) AS u(id, start_date, updated_at, doc)
			WHERE t.tenant_id = $1 AND t.id = u.id
			RETURNING t.id`, tenantID, ids, dates, updated, docs)
		if err != nil {
			return err
		}
		done, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, id := range ids {
			if !slices.Contains(done, id) {
				return notFound("Activity", id) // rolls back the others
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
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `DELETE FROM sandbox_activities WHERE tenant_id = $1 AND id = ANY($2) RETURNING id`, tenantID, ids)
		if err != nil {
			return err
		}
		done, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, id := range ids {
			if !slices.Contains(done, id) {
				return notFound("Activity", id) // rolls back the others
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
	a, err := findDoc[sandbox.Activity](ctx, s.db, "sandbox_activities", "Activity", tenantID, id)
	if err != nil {
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
	var lo, hi pgtype.Timestamptz
	err := s.db.pool.QueryRow(ctx, `SELECT count(*), min(`+column+`), max(`+column+`) FROM `+table+` WHERE `+c.sql(), c.args...).
		Scan(&sum.Count, &lo, &hi)
	if err != nil {
		return sandbox.Summary{}, err
	}
	if sum.Count > 0 {
		sum.From, sum.To = fromNullTS(lo), fromNullTS(hi)
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
	rows := make([]dataRow, len(payouts))
	for i, p := range payouts {
		doc, err := marshalDoc(p)
		if err != nil {
			return fmt.Errorf("create payouts: %w", err)
		}
		rows[i] = dataRow{id: p.ID, account: p.Account, date: p.PayoutDate.Time, updated: p.UpdatedAt.Time, doc: doc}
	}
	if err := s.insertData(ctx, tenantID, "sandbox_payouts", "payout_date", "Payout", rows); err != nil {
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
		return fmt.Errorf("create profile: %w", err)
	}
	tag, err := s.db.pool.Exec(ctx, `INSERT INTO sandbox_profiles (tenant_id, id, account_id, user_id, created_at, doc)
		SELECT tenant_id, $2, id, user_id, $4, $5 FROM sandbox_accounts WHERE tenant_id = $1 AND id = $3`,
		tenantID, p.ID, p.Account, ts(p.CreatedAt.Time), doc)
	if err != nil {
		return fmt.Errorf("create profile: %w", interpretSandboxError(err, "Profile", p.ID))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("create profile: %w", notFound("Account", p.Account))
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
