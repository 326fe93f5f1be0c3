package hookd_test

import (
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	prev := ""
	for i := 0; i < 1000; i++ {
		id := hookd.NewID()
		if !uuidRE.MatchString(id) || !hookd.IsUUID(id) {
			t.Fatalf("NewID() got %q, want a canonical UUIDv7", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		if id[:8] < prev[:min(8, len(prev))] {
			t.Fatalf("NewID() %q sorts before an earlier id %q", id, prev)
		}
		seen[id], prev = true, id
	}
}

func TestIsUUID(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"580dca76-c024-4458-bb10-a2111ad4063e": true,
		"580DCA76-C024-4458-BB10-A2111AD4063E": true,
		"580dca76c0244458bb10a2111ad4063e":     false,
		"580dca76-c024-4458-bb10-a2111ad4063":  false,
		"580dca76-c024-4458-bb10-a2111ad4063g": false,
		"":                                     false,
		"../../etc/passwd":                     false,
	} {
		if got := hookd.IsUUID(s); got != want {
			t.Errorf("IsUUID(%q) got %v, want %v", s, got, want)
		}
	}
}

func TestFormatTime(t *testing.T) {
	t.Parallel()
	ts := time.Date(2022, 4, 22, 10, 58, 26, 480241999, time.FixedZone("x", 3600))
	if got, want := hookd.FormatTime(ts), "2022-04-22T09:58:26.480241Z"; got != want {
		t.Fatalf("FormatTime got %q, want %q", got, want)
	}
	if got, want := hookd.FormatTime(time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)), "2022-01-01T00:00:00.000000Z"; got != want {
		t.Fatalf("FormatTime got %q, want %q", got, want)
	}
}

func TestAPIKey(t *testing.T) {
	t.Parallel()
	key, secret := hookd.NewAPIKey("t1")
	if !key.Matches(secret) || key.Matches(secret+"x") || key.Matches("") {
		t.Fatalf("Matches gave the wrong answer")
	}
	if len(key.ID) != 32 || len(secret) != 48 {
		t.Fatalf("NewAPIKey id %q secret length %d", key.ID, len(secret))
	}
}

func TestError(t *testing.T) {
	t.Parallel()
	var fe hookd.FieldErrors
	if fe.Err() != nil {
		t.Fatalf("empty FieldErrors.Err() got non-nil")
	}
	fe.Add("name", "This field is required.")
	err := fmt.Errorf("wrapped: %w", fe.Err())
	if got := hookd.ErrorCode(err); got != hookd.EINVALID {
		t.Fatalf("ErrorCode got %q, want %q", got, hookd.EINVALID)
	}
	if got := hookd.ErrorCode(errors.New("boom")); got != hookd.EINTERNAL {
		t.Fatalf("ErrorCode(plain) got %q", got)
	}
	if got := hookd.ErrorMessage(errors.New("secret detail")); got != "Internal error." {
		t.Fatalf("ErrorMessage(plain) got %q", got)
	}
	if hookd.ErrorCode(nil) != "" {
		t.Fatalf("ErrorCode(nil) not empty")
	}
}

func TestCatalog(t *testing.T) {
	t.Parallel()
	if got := len(hookd.Catalog); got != 32 {
		t.Fatalf("catalogue has %d events, want the 32 of PRODUCT.md", got)
	}
	var resource []string
	for _, et := range hookd.Catalog {
		if et.Resource {
			resource = append(resource, et.Name)
		}
		if et.DaysSynced != strings.HasSuffix(et.Name, ".partially_synced") {
			t.Errorf("%s DaysSynced=%v", et.Name, et.DaysSynced)
		}
	}
	if got, want := strings.Join(resource, ","), "accounts.added,accounts.connected,accounts.failed,accounts.updated"; got != want {
		t.Fatalf("include_resource events got %s, want %s", got, want)
	}
	if got := strings.Join(hookd.EventGroups(), ","); got != "accounts,activities,payouts,profiles,documents,forms,pay_allocations,vehicles,reputations,users" {
		t.Fatalf("EventGroups got %s", got)
	}
}

// TestPackageDocs fails when a package in the module has no package doc
// comment, or more than one.
func TestPackageDocs(t *testing.T) {
	t.Parallel()
	docs := map[string]int{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata" || d.Name() == "hookd-data") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		dir := filepath.Dir(path)
		if _, ok := docs[dir]; !ok {
			docs[dir] = 0
		}
		if f.Doc != nil {
			docs[dir]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for dir, n := range docs {
		if n != 1 {
			t.Errorf("package in %s has %d package doc comments, want exactly 1", dir, n)
		}
	}
}
