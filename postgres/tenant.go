package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// TenantService stores tenants and API keys.
type TenantService struct {
	db *DB
}

var _ hookd.TenantService = (*TenantService)(nil)

// NewTenantService returns the tenant service on db.
func NewTenantService(db *DB) *TenantService {
	return &TenantService{db: db}
}

// EnsureTenant returns the tenant called name, creating it if needed. Two
// nodes ensuring the same name together get the same tenant.
func (s *TenantService) EnsureTenant(ctx context.Context, name string) (*hookd.Tenant, error) {
	if strings.TrimSpace(name) == "" {
		return nil, hookd.FieldError("name", "This field may not be blank.")
	}
	if t, err := s.findTenant(ctx, `name = $1`, name); err == nil {
		return t, nil
	} else if hookd.ErrorCode(err) != hookd.ENOTFOUND {
		return nil, fmt.Errorf("ensure tenant: %w", err)
	}
	// ON CONFLICT DO NOTHING waits for a concurrent insert of the name to
	// commit; the SELECT after it then sees that tenant.
	if _, err := s.db.pool.Exec(ctx, `INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO NOTHING`, hookd.NewID(), name, ts(s.db.Now())); err != nil {
		return nil, fmt.Errorf("ensure tenant: %w", interpretError(err))
	}
	t, err := s.findTenant(ctx, `name = $1`, name)
	if err != nil {
		return nil, fmt.Errorf("ensure tenant: %w", err)
	}
	return t, nil
}

// FindTenantByID returns the tenant with that ID.
func (s *TenantService) FindTenantByID(ctx context.Context, id string) (*hookd.Tenant, error) {
	t, err := s.findTenant(ctx, `id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("find tenant %s: %w", id, err)
	}
	return t, nil
}

func (s *TenantService) findTenant(ctx context.Context, where string, arg any) (*hookd.Tenant, error) {
	var t hookd.Tenant
	err := s.db.pool.QueryRow(ctx, `SELECT id, name, created_at FROM tenants WHERE `+where, arg).
		Scan(&t.ID, &t.Name, &t.CreatedAt)
	if err != nil {
		return nil, interpretError(err)
	}
	t.CreatedAt = fromTS(t.CreatedAt)
	return &t, nil
}

// CreateAPIKey stores key. Returns ECONFLICT if a key with its ID exists and
// ENOTFOUND if the tenant does not.
func (s *TenantService) CreateAPIKey(ctx context.Context, key *hookd.APIKey) error {
	tag, err := s.db.pool.Exec(ctx, `INSERT INTO api_keys (id, tenant_id, secret_hash, created_at, revoked_at)
		SELECT $1, id, $3, $4, $5 FROM tenants WHERE id = $2`,
		key.ID, key.TenantID, key.SecretHash, ts(key.CreatedAt), nullTS(key.RevokedAt))
	if err != nil {
		return fmt.Errorf("create api key: %w", interpretError(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("create api key: %w", hookd.Errorf(hookd.ENOTFOUND, "Tenant not found."))
	}
	return nil
}

// PutAPIKey stores key, replacing any key with the same ID, and un-revokes
// it. Returns ENOTFOUND if the tenant does not exist.
func (s *TenantService) PutAPIKey(ctx context.Context, key *hookd.APIKey) error {
	tag, err := s.db.pool.Exec(ctx, `INSERT INTO api_keys (id, tenant_id, secret_hash, created_at)
		SELECT $1, id, $3, $4 FROM tenants WHERE id = $2
		ON CONFLICT (id) DO UPDATE SET tenant_id = excluded.tenant_id, secret_hash = excluded.secret_hash, revoked_at = NULL`,
		key.ID, key.TenantID, key.SecretHash, ts(key.CreatedAt))
	if err != nil {
		return fmt.Errorf("put api key: %w", interpretError(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("put api key: %w", hookd.Errorf(hookd.ENOTFOUND, "Tenant not found."))
	}
	return nil
}

const apiKeyQuery = `SELECT k.id, k.tenant_id, t.name, k.secret_hash, k.created_at, k.revoked_at
	FROM api_keys k JOIN tenants t ON t.id = k.tenant_id`

func scanAPIKey(row rowScanner) (*hookd.APIKey, error) {
	var k hookd.APIKey
	var revoked pgtype.Timestamptz
	if err := row.Scan(&k.ID, &k.TenantID, &k.TenantName, &k.SecretHash, &k.CreatedAt, &revoked); err != nil {
		return nil, err
	}
	k.CreatedAt, k.RevokedAt = fromTS(k.CreatedAt), fromNullTS(revoked)
	return &k, nil
}

// FindAPIKeyByID returns the key with that ID, revoked or not.
func (s *TenantService) FindAPIKeyByID(ctx context.Context, id string) (*hookd.APIKey, error) {
	k, err := scanAPIKey(s.db.pool.QueryRow(ctx, apiKeyQuery+` WHERE k.id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("find api key: %w", interpretError(err))
	}
	return k, nil
}

// FindAPIKeys returns every key, oldest first.
func (s *TenantService) FindAPIKeys(ctx context.Context) ([]*hookd.APIKey, error) {
	rows, err := s.db.pool.Query(ctx, apiKeyQuery+` ORDER BY k.created_at, k.id`)
	if err != nil {
		return nil, fmt.Errorf("find api keys: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*hookd.APIKey, error) { return scanAPIKey(row) })
	if err != nil {
		return nil, fmt.Errorf("find api keys: %w", err)
	}
	return keys, nil
}

// RevokeAPIKey marks the key revoked at now, unless it already is.
func (s *TenantService) RevokeAPIKey(ctx context.Context, id string, now time.Time) error {
	tag, err := s.db.pool.Exec(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2`, ts(now), id)
	if err != nil {
		return fmt.Errorf("revoke api key %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("revoke api key %s: %w", id, hookd.Errorf(hookd.ENOTFOUND, "Not found."))
	}
	return nil
}
