package sqlite_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sqlite"
)

// TestDB_LargeTransaction publishes, in one transaction, more events and
// deliveries than the page cache holds, so that SQLite writes pages to the
// log before the commit, writes some of them again and then rewrites the
// frames' checksums, and reads every event back through a second DB on the
// same file, whose connections read the log themselves.
func TestDB_LargeTransaction(t *testing.T) {
	ctx := context.Background()
	db, other, tenant := openTwice(t)
	if err := createSubscribers(ctx, db, tenant, 4); err != nil {
		t.Fatal(err)
	}
	events := make([]*hookd.Event, 2000) // about 6 MB of data, 8,000 deliveries
	for i := range events {
		events[i] = &hookd.Event{ID: hookd.NewID(), TenantID: tenant, Type: "accounts.added", Data: eventData(i), CreatedAt: hookd.Now()}
	}
	if _, err := sqlite.NewEventService(db).PublishEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	checkReadBack(t, sqlite.NewEventService(other), events, "")
}

// TestDB_CommitsReadBack commits transactions of every size from 1 to 120
// events, each event about a page, and reads each one's events back at once
// through a second DB on the file, as claims read what a publish has just
// committed. The sizes cover every way a transaction's frames can fall
// across the store's log buffer.
func TestDB_CommitsReadBack(t *testing.T) {
	ctx := context.Background()
	db, other, tenant := openTwice(t)
	es, oes := sqlite.NewEventService(db), sqlite.NewEventService(other)
	n := 0
	for size := 1; size <= 120; size++ {
		events := make([]*hookd.Event, size)
		for i := range events {
			events[i] = &hookd.Event{ID: hookd.NewID(), TenantID: tenant, Type: "accounts.added", Data: eventData(n), CreatedAt: hookd.Now()}
			n++
		}
		if _, err := es.PublishEvents(ctx, events); err != nil {
			t.Fatalf("batch of %d: %v", size, err)
		}
		checkReadBack(t, oes, events, fmt.Sprintf("batch of %d, ", size))
	}
}

// openTwice opens one new file as two DBs, as two processes would, with
// tenant acme in it.
func openTwice(t *testing.T) (db, other *sqlite.DB, tenant string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hookd.db")
	db = MustOpenDBAt(t, path)
	tn, err := sqlite.NewTenantService(db).EnsureTenant(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	return db, MustOpenDBAt(t, path), tn.ID
}

// checkReadBack reads every one of events back through es and compares its
// data; prefix starts the failure's message.
func checkReadBack(t *testing.T, es *sqlite.EventService, events []*hookd.Event, prefix string) {
	t.Helper()
	for i, e := range events {
		got, err := es.FindEventByID(context.Background(), e.TenantID, e.ID)
		if err != nil {
			t.Fatalf("%sevent %d, read at once: %v", prefix, i, err)
		}
		if !bytes.Equal(got.Data, e.Data) {
			t.Fatalf("%sevent %d: data read back differs", prefix, i)
		}
	}
}

// createSubscribers creates n webhooks of tenant subscribing to
// accounts.added.
func createSubscribers(ctx context.Context, db *sqlite.DB, tenant string, n int) error {
	ws := sqlite.NewWebhookService(db)
	for i := range n {
		now := hookd.Now()
		w := &hookd.Webhook{ID: hookd.NewID(), TenantID: tenant, Name: fmt.Sprint("hook ", i), Events: []string{"accounts.added"},
			URL: "http://127.0.0.1:9/hook", Status: hookd.WebhookEnabled, CreatedAt: now, UpdatedAt: now}
		if err := ws.CreateWebhook(ctx, w); err != nil {
			return err
		}
	}
	return nil
}

// eventData is event i's data: about 3 KB, different for every i.
func eventData(i int) []byte {
	return []byte(fmt.Sprintf(`{"account":"a%d","padding":"%s"}`, i, strings.Repeat(string(rune('a'+i%26)), 3000)))
}

// TestDB_CommitSurvivesKill runs a child process that publishes events and
// prints each batch's event IDs once the publish has returned, then kills
// itself at once. Every event it printed must be in the file: a commit is
// in the operating system by the time it returns, whatever buffering the
// store does on the way.
func TestDB_CommitSurvivesKill(t *testing.T) {
	if path := os.Getenv("HOOKD_TEST_KILLED_DB"); path != "" {
		publishThenDie(path)
		return
	}
	path := filepath.Join(t.TempDir(), "hookd.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestDB_CommitSurvivesKill$")
	cmd.Env = append(os.Environ(), "HOOKD_TEST_KILLED_DB="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err == nil {
		t.Fatalf("the child exited normally, want killed; stderr:\n%s", stderr.String())
	}
	var ids []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if id, ok := strings.CutPrefix(sc.Text(), "published "); ok {
			ids = append(ids, id)
		}
	}
	if len(ids) < 50 {
		t.Fatalf("the child printed %d event IDs, want 50; err %v, stderr:\n%s", len(ids), err, stderr.String())
	}
	db := MustOpenDBAt(t, path)
	tn, err := sqlite.NewTenantService(db).EnsureTenant(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	es := sqlite.NewEventService(db)
	for i, id := range ids {
		got, err := es.FindEventByID(context.Background(), tn.ID, id)
		if err != nil {
			t.Fatalf("event %d of %d, published before the kill: %v", i, len(ids), err)
		}
		if !bytes.Equal(got.Data, eventData(i)) {
			t.Fatalf("event %d: data read back differs", i)
		}
	}
}

// publishThenDie is TestDB_CommitSurvivesKill's child: 50 publishes to 4
// webhooks, of one event each but the last, of 2,000 events (see
// TestDB_LargeTransaction), then SIGKILL.
func publishThenDie(path string) {
	ctx := context.Background()
	db := sqlite.NewDB(path)
	if err := db.Open(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	tn, err := sqlite.NewTenantService(db).EnsureTenant(ctx, "acme")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := createSubscribers(ctx, db, tn.ID, 4); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	es := sqlite.NewEventService(db)
	w := bufio.NewWriter(os.Stdout)
	n := 0
	for batch := range 50 {
		size := 1
		if batch == 49 {
			size = 2000
		}
		events := make([]*hookd.Event, size)
		for i := range events {
			events[i] = &hookd.Event{ID: hookd.NewID(), TenantID: tn.ID, Type: "accounts.added", Data: eventData(n), CreatedAt: hookd.Now()}
			n++
		}
		if _, err := es.PublishEvents(ctx, events); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		for _, e := range events {
			fmt.Fprintf(w, "published %s\n", e.ID)
		}
	}
	w.Flush()
	p, _ := os.FindProcess(os.Getpid())
	_ = p.Kill()
	select {} // the kill arrives
}
