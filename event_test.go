package hookd_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func TestNormalizeData(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`{}`, `{}`},
		{`{"user":"u","x":1,"account":"a"}`, `{"account":"a","user":"u","x":1}`},
		{` { "b" : [1, 2], "a": {"k": "<v>"} } `, `{"b":[1,2],"a":{"k":"<v>"}}`},
		{`{"n": 1.50, "big": 12345678901234567890}`, `{"n":1.50,"big":12345678901234567890}`},
		{`{"s":"caf\u00e9 \u003c"}`, `{"s":"caf\u00e9 \u003c"}`},
	}
	for _, tt := range tests {
		got, err := hookd.NormalizeData(json.RawMessage(tt.in))
		if err != nil {
			t.Fatalf("NormalizeData(%s) error %v", tt.in, err)
		}
		if string(got) != tt.want {
			t.Errorf("NormalizeData(%s) got %s, want %s", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{`[]`, `"x"`, `{"a":1`, `{"a":1} {}`, ``} {
		if _, err := hookd.NormalizeData(json.RawMessage(bad)); err == nil {
			t.Errorf("NormalizeData(%q) got nil error, want one", bad)
		}
	}
}

func FuzzNormalizeData(f *testing.F) {
	for _, s := range []string{`{}`, `{"account":"a","user":"u"}`, `{"x":[1,{"y":null}]}`, `[]`, `{"a":"\u00e9"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := hookd.NormalizeData(b)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("NormalizeData(%q) produced invalid JSON %q", b, out)
		}
		var in, got map[string]any
		if json.Unmarshal(b, &in) != nil {
			t.Fatalf("NormalizeData accepted %q, which is not a JSON object", b)
		}
		if err := json.Unmarshal(out, &got); err != nil || len(got) != len(in) {
			t.Fatalf("NormalizeData(%q) = %q lost members", b, out)
		}
	})
}

func TestAppendEnvelope(t *testing.T) {
	t.Parallel()
	data := json.RawMessage(`{"account":"a","user":"u"}`)
	t.Run("Compact", func(t *testing.T) {
		got := string(hookd.AppendEnvelope(nil, "accounts.added", "A <b> & c", data, nil, false))
		want := `{"event":"accounts.added","name":"A <b> & c","data":{"account":"a","user":"u"}}`
		if got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	})
	t.Run("Resource", func(t *testing.T) {
		got := string(hookd.AppendEnvelope([]byte("prefix"), "accounts.added", "n", data, json.RawMessage(`{"id":"a"}`), false))
		want := `prefix{"event":"accounts.added","name":"n","data":{"account":"a","user":"u","resource":{"id":"a"}}}`
		if got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	})
	t.Run("ResourceEmptyData", func(t *testing.T) {
		got := string(hookd.AppendEnvelope(nil, "users.fully_synced", "n", json.RawMessage(`{}`), json.RawMessage(`{"id":"u"}`), false))
		want := `{"event":"users.fully_synced","name":"n","data":{"resource":{"id":"u"}}}`
		if got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	})
	t.Run("Indented", func(t *testing.T) {
		got := string(hookd.AppendEnvelope(nil, "activities.added", "Fully <synced>", json.RawMessage(`{"account":"a","user":"u","ids":[],"o":{}}`), nil, true))
		want := "{\n  \"event\": \"activities.added\",\n  \"name\": \"Fully <synced>\",\n  \"data\": {\n    \"account\": \"a\",\n    \"user\": \"u\",\n    \"ids\": [],\n    \"o\": {}\n  }\n}"
		if got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}

func TestIncludesResource(t *testing.T) {
	t.Parallel()
	yes := &hookd.Webhook{Config: hookd.WebhookConfig{IncludeResource: ptr(true)}}
	no := &hookd.Webhook{}
	for _, tt := range []struct {
		typ  string
		w    *hookd.Webhook
		want bool
	}{
		{"accounts.added", yes, true},
		{"accounts.added", no, false},
		{"accounts.removed", yes, false},
		{"users.fully_synced", no, true},
		{"activities.added", yes, false},
	} {
		if got := hookd.IncludesResource(tt.typ, tt.w); got != tt.want {
			t.Errorf("IncludesResource(%s, include=%v) got %v, want %v", tt.typ, tt.w.Config.IncludeResource != nil, got, tt.want)
		}
	}
}

func TestEventValidate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		e     hookd.Event
		field string
	}{
		{"OK", hookd.Event{Type: "accounts.added", Data: json.RawMessage(`{"account":"a"}`)}, ""},
		{"ErrNoType", hookd.Event{Data: json.RawMessage(`{}`)}, "event"},
		{"ErrUnknownType", hookd.Event{Type: "accounts.exploded", Data: json.RawMessage(`{}`)}, "event"},
		{"ErrDataArray", hookd.Event{Type: "accounts.added", Data: json.RawMessage(`[1]`)}, "data"},
		{"ErrDataMissing", hookd.Event{Type: "accounts.added"}, "data"},
		{"ErrResource", hookd.Event{Type: "accounts.added", Data: json.RawMessage(`{}`), Resource: json.RawMessage(`3`)}, "resource"},
		{"ErrKey", hookd.Event{Type: "accounts.added", Data: json.RawMessage(`{}`), IdempotencyKey: strings.Repeat("k", 256)}, "idempotency_key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.e.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() got %v, want nil", err)
				}
				return
			}
			if e, ok := err.(*hookd.Error); !ok || len(e.Fields[tt.field]) == 0 {
				t.Fatalf("Validate() got %v, want a %s field error", err, tt.field)
			}
		})
	}
}

func TestSampleEvent(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, et := range hookd.Catalog {
		e, err := hookd.SampleEvent(et.Name, now)
		if err != nil {
			t.Fatalf("SampleEvent(%s) error %v", et.Name, err)
		}
		e.ID = hookd.NewID()
		if err := e.Validate(); err != nil {
			t.Fatalf("SampleEvent(%s) does not validate: %v", et.Name, err)
		}
		norm, err := hookd.NormalizeData(e.Data)
		if err != nil || string(norm) != string(e.Data) {
			t.Fatalf("SampleEvent(%s) data is not normalised: %s", et.Name, e.Data)
		}
		wantResource := et.Resource || et.AlwaysResource
		if (len(e.Resource) > 0) != wantResource {
			t.Fatalf("SampleEvent(%s) resource present=%v, want %v", et.Name, len(e.Resource) > 0, wantResource)
		}
		if et.Name != "users.fully_synced" && !strings.HasPrefix(string(e.Data), `{"account":`) {
			t.Fatalf("SampleEvent(%s) data does not start with account: %s", et.Name, e.Data)
		}
	}
	if _, err := hookd.SampleEvent("nope.nope", now); hookd.ErrorCode(err) != hookd.EINVALID {
		t.Fatalf("SampleEvent(unknown) got %v, want EINVALID", err)
	}
}
