package sqlite

import (
	"math"
	"testing"
)

// TestFairClaimer_Landed checks where deliveries made due move the
// oldest-first cursor: to just before their due time when they land
// behind it, keeping the blocked webhooks stepped over before that; to the
// start, forgetting those, when leases ran out (any due time); nowhere when
// they land ahead of it.
func TestFairClaimer_Landed(t *testing.T) {
	var f fairClaimer
	at := cursor{next: 100, id: "0190a7c2-0000-7000-8000-000000000001"}
	f.oldestAt, f.passed = at, map[string]bool{"w1": true}

	f.landed(200)
	if f.oldestAt != at {
		t.Errorf("landing ahead moved the cursor to %+v", f.oldestAt)
	}
	f.landed(50)
	if want := (cursor{next: 49, id: afterEveryID}); f.oldestAt != want || !f.passed["w1"] {
		t.Errorf("landing behind: cursor %+v, passed %v; want %+v, w1 still passed", f.oldestAt, f.passed, want)
	}
	if !(at.id < afterEveryID) {
		t.Errorf("delivery ID %q sorts after afterEveryID", at.id)
	}
	f.landed(math.MinInt64)
	if f.oldestAt != (cursor{}) || len(f.passed) != 0 {
		t.Errorf("leases run out: cursor %+v, passed %v; want the start, none passed", f.oldestAt, f.passed)
	}
}
