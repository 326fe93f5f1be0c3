package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func exerciseTenants(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("EnsureTenant/OK", func(t *testing.T) {
		b := setup(t, open)
		if b.tenant.ID == "" || b.tenant.Name != "acme" {
			t.Fatalf("EnsureTenant(acme) got %+v, want an ID and name acme", b.tenant)
		}
		again := b.mustTenant(t, "acme")
		if again.ID != b.tenant.ID || !again.CreatedAt.Equal(b.tenant.CreatedAt) {
			t.Errorf("EnsureTenant(acme) twice got %+v, want %+v", again, b.tenant)
		}
		other := b.mustTenant(t, "globex")
		if other.ID == b.tenant.ID {
			t.Errorf("EnsureTenant(globex) got ID %s, the same as acme's", other.ID)
		}
	})

	t.Run("EnsureTenant/ErrInvalid", func(t *testing.T) {
		b := setup(t, open)
		for _, name := range []string{"", "   "} {
			_, err := b.Tenants.EnsureTenant(b.ctx, name)
			wantCode(t, "EnsureTenant("+name+")", err, hookd.EINVALID)
		}
	})

	t.Run("FindTenantByID/OK", func(t *testing.T) {
		b := setup(t, open)
		got, err := b.Tenants.FindTenantByID(b.ctx, b.tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != b.tenant.ID || got.Name != b.tenant.Name || !got.CreatedAt.Equal(b.tenant.CreatedAt) {
			t.Errorf("FindTenantByID got %+v, want %+v", got, b.tenant)
		}
	})

	t.Run("FindTenantByID/ErrNotFound", func(t *testing.T) {
		b := setup(t, open)
		_, err := b.Tenants.FindTenantByID(b.ctx, hookd.NewID())
		wantCode(t, "FindTenantByID", err, hookd.ENOTFOUND)
	})
}

func exerciseAPIKeys(t *testing.T, open func(t *testing.T) Stores) {
	newKey := func(b *testBundle, tenantID string, created time.Time) (*hookd.APIKey, string) {
		k, secret := hookd.NewAPIKey(tenantID)
		k.CreatedAt = created
		return k, secret
	}
	mustFind := func(t *testing.T, b *testBundle, id string) *hookd.APIKey {
		t.Helper()
		k, err := b.Tenants.FindAPIKeyByID(b.ctx, id)
		if err != nil {
			t.Fatalf("FindAPIKeyByID(%s): %v", id, err)
		}
		return k
	}

	t.Run("CreateAPIKey/OK", func(t *testing.T) {
		b := setup(t, open)
		k, secret := newKey(b, b.tenant.ID, b.t0)
		if err := b.Tenants.CreateAPIKey(b.ctx, k); err != nil {
			t.Fatal(err)
		}
		got := mustFind(t, b, k.ID)
		if got.ID != k.ID || got.TenantID != b.tenant.ID || got.TenantName != "acme" ||
			!bytes.Equal(got.SecretHash, k.SecretHash) || !got.CreatedAt.Equal(b.t0) || got.RevokedAt != nil {
			t.Errorf("FindAPIKeyByID got %+v, want %+v with tenant name acme", got, k)
		}
		if !got.Matches(secret) {
			t.Errorf("stored key does not match its secret")
		}
	})

	t.Run("CreateAPIKey/ErrConflict", func(t *testing.T) {
		b := setup(t, open)
		k, _ := newKey(b, b.tenant.ID, b.t0)
		if err := b.Tenants.CreateAPIKey(b.ctx, k); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "CreateAPIKey twice", b.Tenants.CreateAPIKey(b.ctx, k), hookd.ECONFLICT)
	})

	t.Run("CreateAPIKey/ErrNotFound", func(t *testing.T) {
		b := setup(t, open)
		k, _ := newKey(b, hookd.NewID(), b.t0)
		wantCode(t, "CreateAPIKey for a missing tenant", b.Tenants.CreateAPIKey(b.ctx, k), hookd.ENOTFOUND)
	})

	t.Run("PutAPIKey/OK", func(t *testing.T) {
		b := setup(t, open)
		k, _ := newKey(b, b.tenant.ID, b.t0)
		if err := b.Tenants.PutAPIKey(b.ctx, k); err != nil {
			t.Fatalf("PutAPIKey (new): %v", err)
		}
		if err := b.Tenants.RevokeAPIKey(b.ctx, k.ID, b.at(time.Second)); err != nil {
			t.Fatal(err)
		}
		other := b.mustTenant(t, "globex")
		replaced, secret := newKey(b, other.ID, b.t0)
		replaced.ID = k.ID
		if err := b.Tenants.PutAPIKey(b.ctx, replaced); err != nil {
			t.Fatalf("PutAPIKey (replace): %v", err)
		}
		got := mustFind(t, b, k.ID)
		if got.RevokedAt != nil {
			t.Errorf("after PutAPIKey got RevokedAt %s, want nil", timeString(got.RevokedAt))
		}
		if got.TenantID != other.ID || got.TenantName != "globex" || !got.Matches(secret) {
			t.Errorf("after PutAPIKey got tenant %s (%s), want %s (globex) and the new secret", got.TenantID, got.TenantName, other.ID)
		}
		if keys, err := b.Tenants.FindAPIKeys(b.ctx); err != nil || len(keys) != 1 {
			t.Errorf("FindAPIKeys got %d keys (err %v), want 1", len(keys), err)
		}
	})

	t.Run("PutAPIKey/ErrNotFound", func(t *testing.T) {
		b := setup(t, open)
		k, _ := newKey(b, hookd.NewID(), b.t0)
		wantCode(t, "PutAPIKey for a missing tenant", b.Tenants.PutAPIKey(b.ctx, k), hookd.ENOTFOUND)
	})

	t.Run("FindAPIKeyByID/ErrNotFound", func(t *testing.T) {
		b := setup(t, open)
		_, err := b.Tenants.FindAPIKeyByID(b.ctx, "nope")
		wantCode(t, "FindAPIKeyByID", err, hookd.ENOTFOUND)
	})

	t.Run("FindAPIKeys/OK", func(t *testing.T) {
		b := setup(t, open)
		if keys, err := b.Tenants.FindAPIKeys(b.ctx); err != nil || len(keys) != 0 {
			t.Fatalf("FindAPIKeys on an empty store got %d keys (err %v), want 0", len(keys), err)
		}
		other := b.mustTenant(t, "globex")
		k2, _ := newKey(b, other.ID, b.at(2*time.Second))
		k0, _ := newKey(b, b.tenant.ID, b.t0)
		k1, _ := newKey(b, b.tenant.ID, b.at(time.Second))
		for _, k := range []*hookd.APIKey{k2, k0, k1} {
			if err := b.Tenants.CreateAPIKey(b.ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Tenants.RevokeAPIKey(b.ctx, k1.ID, b.at(time.Minute)); err != nil {
			t.Fatal(err)
		}
		keys, err := b.Tenants.FindAPIKeys(b.ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := ids(keys, func(k *hookd.APIKey) string { return k.ID + "/" + k.TenantName })
		want := []string{k0.ID + "/acme", k1.ID + "/acme", k2.ID + "/globex"}
		if dump(got) != dump(want) {
			t.Errorf("FindAPIKeys got %v, want %v (oldest first, revoked included)", got, want)
		}
		if len(keys) == 3 && (keys[1].RevokedAt == nil || !keys[1].RevokedAt.Equal(b.at(time.Minute))) {
			t.Errorf("revoked key listed with RevokedAt %s, want %s", timeString(keys[1].RevokedAt), hookd.FormatTime(b.at(time.Minute)))
		}
	})

	t.Run("RevokeAPIKey/OK", func(t *testing.T) {
		b := setup(t, open)
		k, _ := newKey(b, b.tenant.ID, b.t0)
		if err := b.Tenants.CreateAPIKey(b.ctx, k); err != nil {
			t.Fatal(err)
		}
		if err := b.Tenants.RevokeAPIKey(b.ctx, k.ID, b.at(time.Second)); err != nil {
			t.Fatal(err)
		}
		if got := mustFind(t, b, k.ID); got.RevokedAt == nil || !got.RevokedAt.Equal(b.at(time.Second)) {
			t.Errorf("RevokedAt got %s, want %s", timeString(got.RevokedAt), hookd.FormatTime(b.at(time.Second)))
		}
		if err := b.Tenants.RevokeAPIKey(b.ctx, k.ID, b.at(time.Minute)); err != nil {
			t.Errorf("RevokeAPIKey twice: %v, want no error", err)
		}
		if got := mustFind(t, b, k.ID); got.RevokedAt == nil {
			t.Errorf("after revoking twice got RevokedAt nil, want revoked")
		}
	})

	t.Run("RevokeAPIKey/ErrNotFound", func(t *testing.T) {
		b := setup(t, open)
		wantCode(t, "RevokeAPIKey", b.Tenants.RevokeAPIKey(b.ctx, "nope", b.t0), hookd.ENOTFOUND)
	})
}
