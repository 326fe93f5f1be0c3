package hookd_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func ptr[T any](v T) *T { return &v }

func validWebhook() *hookd.Webhook {
	return &hookd.Webhook{Name: "n", URL: "https://example.com/hook", Events: []string{"accounts.added"}, Status: hookd.WebhookEnabled}
}

func TestWebhookValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(w *hookd.Webhook)
		field  string // "" means valid
		substr string
	}{
		{"OK", func(w *hookd.Webhook) {}, "", ""},
		{"OKWildcard", func(w *hookd.Webhook) { w.Events = []string{"*"} }, "", ""},
		{"OKIncludeResource", func(w *hookd.Webhook) {
			w.Events = []string{"accounts.connected", "accounts.updated"}
			w.Config.IncludeResource = ptr(true)
		}, "", ""},
		{"OKDaysSynced", func(w *hookd.Webhook) {
			w.Events = []string{"activities.partially_synced"}
			w.Config.DaysSynced = ptr(7)
		}, "", ""},
		{"ErrBlankName", func(w *hookd.Webhook) { w.Name = "  " }, "name", "may not be blank"},
		{"ErrLongName", func(w *hookd.Webhook) { w.Name = strings.Repeat("x", 256) }, "name", "no more than 255"},
		{"ErrBlankURL", func(w *hookd.Webhook) { w.URL = "" }, "url", "may not be blank"},
		{"ErrBadScheme", func(w *hookd.Webhook) { w.URL = "ftp://example.com" }, "url", "Enter a valid URL."},
		{"ErrNoHost", func(w *hookd.Webhook) { w.URL = "https://" }, "url", "Enter a valid URL."},
		{"ErrUserinfo", func(w *hookd.Webhook) { w.URL = "https://u:p@example.com" }, "url", "Enter a valid URL."},
		{"ErrNoEvents", func(w *hookd.Webhook) { w.Events = nil }, "events", "may not be empty"},
		{"ErrUnknownEvent", func(w *hookd.Webhook) { w.Events = []string{"accounts.added", "foo.bar"} }, "events", `"foo.bar" is not a valid choice.`},
		{"ErrDuplicateEvent", func(w *hookd.Webhook) { w.Events = []string{"accounts.added", "accounts.added"} }, "events", "more than once"},
		{"ErrWildcardMixed", func(w *hookd.Webhook) { w.Events = []string{"*", "accounts.added"} }, "events", "cannot be combined"},
		{"ErrWildcardConfig", func(w *hookd.Webhook) {
			w.Events = []string{"*"}
			w.Config.IncludeResource = ptr(true)
		}, "config", "takes no config"},
		{"ErrIncludeResourceNotAllowed", func(w *hookd.Webhook) {
			w.Events = []string{"accounts.removed"}
			w.Config.IncludeResource = ptr(true)
		}, "config", "only allowed for"},
		{"ErrDaysSyncedNotAllowed", func(w *hookd.Webhook) {
			w.Events = []string{"activities.added"}
			w.Config.DaysSynced = ptr(7)
		}, "config", "days_synced is only allowed"},
		{"ErrDaysSyncedRange", func(w *hookd.Webhook) {
			w.Events = []string{"payouts.partially_synced"}
			w.Config.DaysSynced = ptr(0)
		}, "config", "from 1 to"},
		{"ErrStatus", func(w *hookd.Webhook) { w.Status = "paused" }, "status", "not a valid choice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := validWebhook()
			tt.modify(w)
			err := w.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() got %v, want nil", err)
				}
				return
			}
			e, ok := err.(*hookd.Error)
			if !ok || e.Code != hookd.EINVALID {
				t.Fatalf("Validate() got %v, want EINVALID", err)
			}
			msgs := strings.Join(e.Fields[tt.field], " | ")
			if !strings.Contains(msgs, tt.substr) {
				t.Fatalf("Validate() %s messages got %q, want to contain %q (all: %v)", tt.field, msgs, tt.substr, e.Fields)
			}
		})
	}
}

func TestMaskSecret(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"abcd", "********"},
		{"abcde", "********bcde"},
		{"8500588670cf4e4d83a9a68259429733", "********9733"},
		{"ééééé", "********éééé"},
	} {
		if got := hookd.MaskSecret(tt.in); got != tt.want {
			t.Errorf("MaskSecret(%q) got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWebhookUpdateApply(t *testing.T) {
	t.Parallel()
	now := hookd.Now()
	w := validWebhook()
	w.Status, w.DisabledReason, w.FailingSince = hookd.WebhookDisabled, hookd.DisabledGone, &now

	t.Run("OKEnable", func(t *testing.T) {
		got, err := hookd.WebhookUpdate{Status: ptr(hookd.WebhookEnabled)}.Apply(w, now)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != hookd.WebhookEnabled || got.DisabledReason != "" || got.FailingSince != nil {
			t.Fatalf("Apply(enable) got status=%q reason=%q failing=%v", got.Status, got.DisabledReason, got.FailingSince)
		}
		if w.Status != hookd.WebhookDisabled {
			t.Fatalf("Apply modified its input")
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		if _, err := (hookd.WebhookUpdate{URL: ptr("nope")}).Apply(w, now); hookd.ErrorCode(err) != hookd.EINVALID {
			t.Fatalf("Apply(bad url) got %v, want EINVALID", err)
		}
	})
}

func TestRotateSecret(t *testing.T) {
	t.Parallel()
	now := hookd.Now()
	w := validWebhook()
	w.Secret = "old-secret"
	upd, secret := hookd.RotateSecret(w, now, time.Hour)
	got, err := upd.Apply(w, now)
	if err != nil {
		t.Fatal(err)
	}
	if got.Secret != secret || got.PreviousSecret != "old-secret" || !got.PreviousSecretExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("RotateSecret got secret=%q previous=%q until=%v", got.Secret, got.PreviousSecret, got.PreviousSecretExpiresAt)
	}
	if s := got.Secrets(now); len(s) != 2 || s[0] != secret || s[1] != "old-secret" {
		t.Fatalf("Secrets(during grace) got %q, want [new old]", s)
	}
	if s := got.Secrets(now.Add(2 * time.Hour)); len(s) != 1 || s[0] != secret {
		t.Fatalf("Secrets(after grace) got %q, want [new]", s)
	}
}

func TestSubscribes(t *testing.T) {
	t.Parallel()
	w := &hookd.Webhook{Events: []string{"accounts.added", "activities.added"}}
	if !w.Subscribes("activities.added") || w.Subscribes("activities.updated") {
		t.Fatalf("Subscribes got wrong answers for %v", w.Events)
	}
	if w := (&hookd.Webhook{Events: []string{"*"}}); !w.Subscribes("users.fully_synced") {
		t.Fatalf(`Subscribes("*") got false`)
	}
}
