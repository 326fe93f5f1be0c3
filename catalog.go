package hookd

import "strings"

// EventType describes one event of Argyle's v1 webhook catalogue.
type EventType struct {
	// Name is "<group>.<action>", for example "activities.added".
	Name string
	// Title is how Argyle's docs and Console name the event.
	Title string
	// Resource reports whether config.include_resource may be set for it,
	// adding the account object to data as "resource".
	Resource bool
	// AlwaysResource reports whether data always carries "resource"
	// (users.fully_synced), whatever the webhook's config.
	AlwaysResource bool
	// DaysSynced reports whether config.days_synced applies (the
	// *.partially_synced events).
	DaysSynced bool
}

// Group returns the part of the name before the dot ("activities").
func (t EventType) Group() string {
	g, _, _ := strings.Cut(t.Name, ".")
	return g
}

// Wildcard is the event name that subscribes to every event.
const Wildcard = "*"

// DefaultDaysSynced is config.days_synced when a webhook does not set it.
const DefaultDaysSynced = 30

// MaxDaysSynced bounds config.days_synced: ten years of history.
const MaxDaysSynced = 3650

// Catalog lists every v1 event type, grouped by resource in the order of
// Argyle's reference. It is the one place the catalogue and its config rules
// live; validation, the console and the sandbox all read it.
var Catalog = []EventType{
	{Name: "accounts.added", Title: "Account added", Resource: true},
	{Name: "accounts.connected", Title: "Account connected", Resource: true},
	{Name: "accounts.failed", Title: "Account failed", Resource: true},
	{Name: "accounts.updated", Title: "Account updated", Resource: true},
	{Name: "accounts.removed", Title: "Account removed"},
	{Name: "activities.partially_synced", Title: "Activities partially synced", DaysSynced: true},
	{Name: "activities.fully_synced", Title: "Activities fully synced"},
	{Name: "activities.added", Title: "Activities added"},
	{Name: "activities.updated", Title: "Activities updated"},
	{Name: "activities.removed", Title: "Activities removed"},
	{Name: "payouts.partially_synced", Title: "Payouts partially synced", DaysSynced: true},
	{Name: "payouts.fully_synced", Title: "Payouts fully synced"},
	{Name: "payouts.added", Title: "Payouts added"},
	{Name: "payouts.updated", Title: "Payouts updated"},
	{Name: "profiles.added", Title: "Profile added"},
	{Name: "profiles.updated", Title: "Profile updated"},
	{Name: "documents.added", Title: "Document added"},
	{Name: "documents.updated", Title: "Document updated"},
	{Name: "documents.removed", Title: "Document removed"},
	{Name: "documents.ocr_completed", Title: "Document OCR completed"},
	{Name: "documents.ocr_failed", Title: "Document OCR failed"},
	{Name: "forms.submitted", Title: "Form submitted"},
	{Name: "forms.removed", Title: "Form removed"},
	{Name: "pay_allocations.added", Title: "Pay allocation added"},
	{Name: "pay_allocations.updated", Title: "Pay allocation updated"},
	{Name: "pay_allocations.removed", Title: "Pay allocation removed"},
	{Name: "vehicles.added", Title: "Vehicle added"},
	{Name: "vehicles.updated", Title: "Vehicle updated"},
	{Name: "vehicles.removed", Title: "Vehicle removed"},
	{Name: "reputations.added", Title: "Reputation added"},
	{Name: "reputations.updated", Title: "Reputation updated"},
	{Name: "users.fully_synced", Title: "User fully synced", AlwaysResource: true},
}

var catalogIndex = func() map[string]EventType {
	m := make(map[string]EventType, len(Catalog))
	for _, t := range Catalog {
		m[t.Name] = t
	}
	return m
}()

// LookupEvent returns the catalogue entry for name.
func LookupEvent(name string) (EventType, bool) {
	t, ok := catalogIndex[name]
	return t, ok
}

// EventGroups returns the catalogue's groups in order ("accounts",
// "activities", …), for grouping events in forms and docs.
func EventGroups() []string {
	var groups []string
	for _, t := range Catalog {
		if g := t.Group(); len(groups) == 0 || groups[len(groups)-1] != g {
			groups = append(groups, g)
		}
	}
	return groups
}

// resourceEventNames returns the events that take include_resource, for
// error messages.
func resourceEventNames() string {
	var names []string
	for _, t := range Catalog {
		if t.Resource {
			names = append(names, t.Name)
		}
	}
	return strings.Join(names, ", ")
}
