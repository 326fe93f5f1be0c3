package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/hookd/hookd"
)

func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := func(w io.Writer) {
		fmt.Fprintln(w, "Usage: hookd keys <create|list|revoke> [flags]")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "  create --tenant NAME [--json]   create a tenant (if new) and an API key for it")
		fmt.Fprintln(w, "  list [--json]                   list API keys")
		fmt.Fprintln(w, "  revoke ID                       revoke an API key (within 1 s on running servers)")
	}
	if len(args) == 0 {
		usage(stderr)
		return usagef("keys: no subcommand given")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return nil
	case "create":
		return runKeysCreate(ctx, args[1:], stdout, stderr)
	case "list":
		return runKeysList(ctx, args[1:], stdout, stderr)
	case "revoke":
		return runKeysRevoke(ctx, args[1:], stdout, stderr)
	}
	usage(stderr)
	return usagef("keys: unknown subcommand %q", args[0])
}

func dbFlag(fs interface {
	StringVar(*string, string, string, string)
}, p *string) {
	fs.StringVar(p, "db", envOr("HOOKD_DB", DefaultDB), "SQLite database path or postgres:// URL (env HOOKD_DB)")
}

func runKeysCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keys create", "keys create --tenant NAME [--json] [--db PATH]", stderr)
	var dbPath, tenantName string
	var asJSON bool
	dbFlag(fs, &dbPath)
	fs.StringVar(&tenantName, "tenant", "", "tenant name (created if new)")
	fs.BoolVar(&asJSON, "json", false, `print {"tenant","api_key_id","api_key_secret"} as JSON`)
	if rest, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usagef("keys create: unexpected argument %q", rest[0])
	}
	if strings.TrimSpace(tenantName) == "" {
		return usagef("keys create: --tenant is required")
	}
	db, err := OpenStore(dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	ts := db.Tenants
	tenant, err := ts.EnsureTenant(ctx, tenantName)
	if err != nil {
		return fmt.Errorf("create tenant: %w", err)
	}
	key, secret := hookd.NewAPIKey(tenant.ID)
	if err := ts.CreateAPIKey(ctx, key); err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	if asJSON {
		return writeJSON(stdout, map[string]string{"tenant": tenant.Name, "api_key_id": key.ID, "api_key_secret": secret})
	}
	fmt.Fprintf(stdout, "Created an API key for tenant %q. The secret is shown only now:\n", tenant.Name)
	fmt.Fprintf(stdout, "  api_key_id      %s\n  api_key_secret  %s\n", key.ID, secret)
	return nil
}

func runKeysList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keys list", "keys list [--json] [--db PATH]", stderr)
	var dbPath string
	var asJSON bool
	dbFlag(fs, &dbPath)
	fs.BoolVar(&asJSON, "json", false, "print JSON")
	if rest, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usagef("keys list: unexpected argument %q", rest[0])
	}
	db, err := OpenStore(dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	keys, err := db.Tenants.FindAPIKeys(ctx)
	if err != nil {
		return fmt.Errorf("list keys: %w", err)
	}
	if asJSON {
		type row struct {
			ID        string  `json:"api_key_id"`
			Tenant    string  `json:"tenant"`
			CreatedAt string  `json:"created_at"`
			RevokedAt *string `json:"revoked_at"`
		}
		rows := make([]row, 0, len(keys))
		for _, k := range keys {
			r := row{ID: k.ID, Tenant: k.TenantName, CreatedAt: hookd.FormatTime(k.CreatedAt)}
			if k.RevokedAt != nil {
				s := hookd.FormatTime(*k.RevokedAt)
				r.RevokedAt = &s
			}
			rows = append(rows, r)
		}
		return writeJSON(stdout, rows)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "API_KEY_ID\tTENANT\tCREATED\tSTATUS")
	for _, k := range keys {
		status := "active"
		if k.RevokedAt != nil {
			status = "revoked " + hookd.FormatTime(*k.RevokedAt)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.TenantName, hookd.FormatTime(k.CreatedAt), status)
	}
	return tw.Flush()
}

func runKeysRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keys revoke", "keys revoke ID [--db PATH]", stderr)
	var dbPath string
	dbFlag(fs, &dbPath)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("keys revoke: give exactly one API key id")
	}
	db, err := OpenStore(dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Tenants.RevokeAPIKey(ctx, rest[0], hookd.Now()); hookd.ErrorCode(err) == hookd.ENOTFOUND {
		return fmt.Errorf("no API key %q", rest[0])
	} else if err != nil {
		return fmt.Errorf("revoke key: %w", err)
	}
	fmt.Fprintf(stdout, "Revoked API key %s.\n", rest[0])
	return nil
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", "migrate [--db PATH]", stderr)
	var dbPath string
	dbFlag(fs, &dbPath)
	if rest, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usagef("migrate: unexpected argument %q", rest[0])
	}
	db, err := OpenStore(dbPath) // opening applies pending migrations
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := db.AppliedMigrations(ctx)
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	fmt.Fprintf(stdout, "%s is at the latest schema; applied migrations:\n", redactDSN(dbPath))
	for _, name := range applied {
		fmt.Fprintf(stdout, "  %s\n", name)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
