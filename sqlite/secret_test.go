package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // the test opens the file itself

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sqlite"
	"github.com/hookd/hookd/storetest"
)

// TestStoreEncrypted runs the conformance suite with secrets sealed at rest:
// encryption must be invisible to every caller.
func TestStoreEncrypted(t *testing.T) {
	box, err := hookd.NewSecretBox("test-encryption-key-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		db := sqlite.NewDB(filepath.Join(t.TempDir(), "hookd.db"))
		db.Secrets = box
		if err := db.Open(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return stores(db)
	})
}

func TestSecretsAtRest(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	box, _ := hookd.NewSecretBox("test-encryption-key-0123456789")

	// A secret written without a key stays readable once a key is set, and
	// is sealed when next written.
	plain := MustOpenDBAt(t, path)
	now := hookd.Now()
	w := &hookd.Webhook{ID: hookd.NewID(), TenantID: "t1", Name: "n", URL: "https://example.com", Events: []string{"*"},
		Secret: "before-the-key", Status: hookd.WebhookEnabled, CreatedAt: now, UpdatedAt: now}
	if err := sqlite.NewWebhookService(plain).CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	plain.Close()

	db := sqlite.NewDB(path)
	db.Secrets = box
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ws := sqlite.NewWebhookService(db)
	if got, err := ws.FindWebhookByID(ctx, "t1", w.ID); err != nil || got.Secret != "before-the-key" {
		t.Fatalf("plain secret read back as %q, %v", got.Secret, err)
	}
	upd, secret := hookd.RotateSecret(w, now, hookd.DefaultRotationGrace)
	if _, err := ws.UpdateWebhook(ctx, "t1", w.ID, upd, now); err != nil {
		t.Fatal(err)
	}
	got, err := ws.FindWebhookByID(ctx, "t1", w.ID)
	if err != nil || got.Secret != secret || got.PreviousSecret != "before-the-key" {
		t.Fatalf("after rotation got secret %q previous %q, %v", got.Secret, got.PreviousSecret, err)
	}

	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var stored, prev string
	if err := raw.QueryRow(`SELECT secret, previous_secret FROM webhooks WHERE id = ?`, w.ID).Scan(&stored, &prev); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, secret) || strings.Contains(prev, "before-the-key") || !strings.HasPrefix(stored, "enc:v1:") {
		t.Fatalf("secrets stored in the clear: %q, %q", stored, prev)
	}

	// Without the key, a sealed secret is an error, never a wrong value.
	nokey := MustOpenDBAt(t, path)
	if _, err := sqlite.NewWebhookService(nokey).FindWebhookByID(ctx, "t1", w.ID); err == nil {
		t.Fatalf("reading a sealed secret without the key got no error")
	}
}
