package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookd/hookd"
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

// EnsureTenant returns the tenant called name, creating it if needed.
func (s *TenantService) EnsureTenant(ctx context.Context, name string) (*hookd.Tenant, error) {
	if strings.TrimSpace(name) == "" {
		return nil, hookd.FieldError("name", "This field may not be blank.")
	}
	if t, err := findTenant(ctx, s.db.reader, `name = ?`, name); err == nil {
		return t, nil
	} else if hookd.ErrorCode(err) != hookd.ENOTFOUND {
		return nil, fmt.Errorf("ensure tenant: %w", err)
	}
	var t *hookd.Tenant
	err := s.db.write(ctx, func(tx *Tx) error {
		var err error
		if t, err = findTenant(tx.ctx, tx, `name = ?`, name); hookd.ErrorCode(err) != hookd.ENOTFOUND {
			return err // found, or failed
		}
		t = &hookd.Tenant{ID: hookd.NewID(), Name: name, CreatedAt: hookd.Truncate(tx.now)}
		_, err = tx.exec(`INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)`, t.ID, t.Name, micros(t.CreatedAt))
		return interpretError(err)
	})
	if err != nil {
		return nil, fmt.Errorf("ensure tenant: %w", err)
	}
	return t, nil
}

// FindTenantByID returns the tenant with that ID.
func (s *TenantService) FindTenantByID(ctx context.Context, id string) (*hookd.Tenant, error) {
	t, err := findTenant(ctx, s.db.reader, `id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("find tenant %s: %w", id, err)
	}
	return t, nil
}

func findTenant(ctx context.Context, q queryer, where string, arg any) (*hookd.Tenant, error) {
	var t hookd.Tenant
	var created int64
	err := q.QueryRowContext(ctx, `SELECT id, name, created_at FROM tenants WHERE `+where, arg).Scan(&t.ID, &t.Name, &created)
	if err != nil {
		return nil, interpretError(err)
	}
	t.CreatedAt = fromMicros(created)
	return &t, nil
}

// tenantExists returns ENOTFOUND unless the tenant exists.
func tenantExists(tx *Tx, id string) error {
	var one int
	if err := tx.queryRow(`SELECT 1 FROM tenants WHERE id = ?`, id).Scan(&one); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return hookd.Errorf(hookd.ENOTFOUND, "Tenant not found.")
		}
		return err
	}
	return nil
}

// CreateAPIKey stores key.
func (s *TenantService) CreateAPIKey(ctx context.Context, key *hookd.APIKey) error {
	err := s.db.write(ctx, func(tx *Tx) error {
		if err := tenantExists(tx, key.TenantID); err != nil {
			return err
		}
		_, err := tx.exec(`INSERT INTO api_keys (id, tenant_id, secret_hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?)`,
			key.ID, key.TenantID, key.SecretHash, micros(key.CreatedAt), nullMicros(key.RevokedAt))
		return interpretError(err)
	})
	if err != nil {
		return fmt.Errorf("create api key: %w", err)
	}
	return nil
}

// PutAPIKey stores key, replacing any key with the same ID, and un-revokes it.
func (s *TenantService) PutAPIKey(ctx context.Context, key *hookd.APIKey) error {
	err := s.db.write(ctx, func(tx *Tx) error {
		if err := tenantExists(tx, key.TenantID); err != nil {
			return err
		}
		_, err := tx.exec(`INSERT INTO api_keys (id, tenant_id, secret_hash, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET tenant_id = excluded.tenant_id, secret_hash = excluded.secret_hash, revoked_at = NULL`,
			key.ID, key.TenantID, key.SecretHash, micros(key.CreatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("put api key: %w", err)
	}
	return nil
}

const apiKeyQuery = `SELECT k.id, k.tenant_id, t.name, k.secret_hash, k.created_at, k.revoked_at
	FROM api_keys k JOIN tenants t ON t.id = k.tenant_id`

func scanAPIKey(rows interface{ Scan(...any) error }) (*hookd.APIKey, error) {
	var k hookd.APIKey
	var created int64
	var revoked sql.NullInt64
	if err := rows.Scan(&k.ID, &k.TenantID, &k.TenantName, &k.SecretHash, &created, &revoked); err != nil {
		return nil, err
	}
	k.CreatedAt, k.RevokedAt = fromMicros(created), fromNullMicros(revoked)
	return &k, nil
}

// FindAPIKeyByID returns the key with that ID, revoked or not.
func (s *TenantService) FindAPIKeyByID(ctx context.Context, id string) (*hookd.APIKey, error) {
	k, err := scanAPIKey(s.db.reader.QueryRowContext(ctx, apiKeyQuery+` WHERE k.id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("find api key: %w", interpretError(err))
	}
	return k, nil
}

// FindAPIKeys returns every key, oldest first.
func (s *TenantService) FindAPIKeys(ctx context.Context) ([]*hookd.APIKey, error) {
	rows, err := s.db.reader.QueryContext(ctx, apiKeyQuery+` ORDER BY k.created_at, k.id`)
	if err != nil {
		return nil, fmt.Errorf("find api keys: %w", err)
	}
	defer rows.Close()
	var keys []*hookd.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("find api keys: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find api keys: %w", err)
	}
	return keys, nil
}

// RevokeAPIKey marks the key revoked at now, unless it already is.
func (s *TenantService) RevokeAPIKey(ctx context.Context, id string, now time.Time) error {
	err := s.db.write(ctx, func(tx *Tx) error {
		res, err := tx.exec(`UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`, micros(now), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return hookd.Errorf(hookd.ENOTFOUND, "Not found.")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("revoke api key %s: %w", id, err)
	}
	return nil
}
