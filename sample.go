package hookd

import (
	"encoding/json"
	"fmt"
	"time"
)

// SampleEvent returns a realistic payload for an event of type t, as
// POST /v1/webhooks/{id}/test and hookd trigger send: fresh account and user
// IDs, date ranges ending at now, and the account (or user) object as the
// resource. Returns EINVALID for a type not in the catalogue.
func SampleEvent(t string, now time.Time) (*Event, error) {
	et, ok := LookupEvent(t)
	if !ok {
		return nil, FieldError("event", fmt.Sprintf("%q is not a valid choice.", t))
	}
	now = Truncate(now)
	account, user := NewID(), NewID()
	day := 24 * time.Hour
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	from, to := now.Add(-90*day).Truncate(time.Second), now.Add(-time.Hour).Truncate(time.Second)
	recent := now.Add(-3 * day).Truncate(time.Second)
	ids := func(n int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = NewID()
		}
		return s
	}

	type kv = []any // ordered key, value pairs
	data := kv{"account", account, "user", user}
	switch et.Group() {
	case "activities", "payouts":
		noun := et.Group()
		switch t[len(noun)+1:] {
		case "partially_synced":
			data = append(data, "days_synced", DefaultDaysSynced,
				"available_from", ts(now.Add(-DefaultDaysSynced*day).Truncate(time.Second)), "available_to", ts(to), "available_count", 41)
		case "fully_synced":
			data = append(data, "available_from", ts(from), "available_to", ts(to), "available_count", 324)
		case "added":
			data = append(data, "added_from", ts(recent), "added_to", ts(to), "added_count", 3,
				"available_from", ts(from), "available_to", ts(to), "available_count", 327)
		case "updated":
			key := "updated_" + noun
			data = append(data, "updated_from", ts(recent), "updated_to", ts(to), "updated_count", 2, key, ids(2),
				"available_from", ts(from), "available_to", ts(to), "available_count", 327)
		case "removed":
			data = append(data, "removed_from", ts(recent), "removed_to", ts(recent), "removed_count", 1, "removed_activities", ids(1),
				"available_from", ts(from), "available_to", ts(to), "available_count", 326)
		}
	case "accounts":
		if t == "accounts.failed" {
			data = append(data, "error_code", "account_disabled",
				"error_message", "This user's employment account appears to be suspended or disabled.")
		}
	case "users":
		data = kv{"user", user}
	default:
		// profiles.added → "profile", pay_allocations.updated → "pay_allocation", …
		group := et.Group()
		data = append(data, group[:len(group)-1], NewID())
	}

	e := &Event{Type: t, Data: marshalOrdered(data)}
	switch {
	case et.AlwaysResource:
		e.Resource = marshalOrdered(kv{
			"id", user, "created_at", FormatTime(now.Add(-time.Hour)),
			"employers_connected", []string{"Whole Goods"}, "data_providers_connected", []string{"wholegoods"},
			"external_metadata", map[string]any{},
		})
	case et.Resource:
		status, code, msg := "connected", any(nil), any(nil)
		if t == "accounts.failed" {
			status, code, msg = "error", "account_disabled", "This user's employment account appears to be suspended or disabled."
		}
		at := FormatTime(now)
		e.Resource = marshalOrdered(kv{
			"id", account, "user", user, "employers", []string{"Whole Goods"},
			"link_item", "wholegoods", "data_partner", "wholegoods", "item", "item_000012345", "source", "argyle_sandbox",
			"created_at", FormatTime(now.Add(-time.Minute)), "updated_at", at, "was_connected", status == "connected",
			"connection", marshalOrdered(kv{"status", status, "error_code", code, "error_message", msg, "updated_at", at}),
		})
	}
	return e, nil
}

// marshalOrdered marshals alternating key, value pairs as a JSON object with
// keys in the order given.
func marshalOrdered(pairs []any) json.RawMessage {
	b := []byte{'{'}
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(pairs[i])
		v, err := json.Marshal(pairs[i+1])
		if err != nil {
			panic(err) // only fixed, marshalable values are passed
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}')
}
