package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hookd/hookd/signature"
)

// TestSandboxSequence connects a simulated account through dev's sandbox
// routes and checks the connect sequence arrives signed, with
// activities.partially_synced only for the webhook whose days_synced is
// shorter than the history, and counts that agree with /v1/activities.
func TestSandboxSequence(t *testing.T) {
	t.Parallel()
	m := MustRunMain(t, ModeDev)
	all, partial := newReceiver(t), newReceiver(t)
	c := &client{tb: t, base: m.HTTPServer.URL(), id: testKeyID, secret: testKeySecret}
	c.json("POST", "/v1/webhooks", `{"name":"everything","events":["*"],"url":"`+all.URL+`","secret":"s3cret"}`, http.StatusCreated, nil)
	c.json("POST", "/v1/webhooks", `{"name":"60 days","events":["activities.partially_synced"],"config":{"days_synced":60},"url":"`+partial.URL+`"}`, http.StatusCreated, nil)
	c.json("POST", "/v1/webhooks", `{"name":"400 days","events":["activities.partially_synced"],"config":{"days_synced":400},"url":"`+partial.URL+`"}`, http.StatusCreated, nil)

	var account struct {
		ID   string `json:"id"`
		User string `json:"user"`
	}
	c.json("POST", "/v1/sandbox/accounts", `{"days": 365, "activities": 120}`, http.StatusCreated, &account)

	// "*" receives the whole sequence, except partially_synced, which goes
	// only to webhooks whose threshold the history passes (30 for "*").
	want := map[string]int{"accounts.added": 1, "accounts.connected": 1, "profiles.added": 1,
		"activities.partially_synced": 1, "activities.fully_synced": 1, "payouts.partially_synced": 1,
		"payouts.fully_synced": 1, "users.fully_synced": 1}
	got := map[string]int{}
	var fully map[string]any
	for n := 1; !covers(got, want) || got["accounts.updated"] < 2; n++ {
		reqs := all.wait(t, n)
		got = map[string]int{}
		for _, r := range reqs {
			if !signature.VerifyArgyle("s3cret", r.body, r.header.Get("X-Argyle-Signature")) {
				t.Fatalf("delivery does not verify: %s", r.body)
			}
			var env struct {
				Event string         `json:"event"`
				Data  map[string]any `json:"data"`
			}
			if err := json.Unmarshal(r.body, &env); err != nil {
				t.Fatal(err)
			}
			got[env.Event]++
			if env.Event == "activities.fully_synced" {
				fully = env.Data
			}
		}
	}
	if fully["account"] != account.ID || fully["user"] != account.User {
		t.Fatalf("activities.fully_synced data %v is not for account %s", fully, account.ID)
	}

	// The guide's query with the payload's range returns available_count.
	var list struct {
		Count int `json:"count"`
	}
	c.json("GET", fmt.Sprintf("/v1/activities?account=%s&from_start_date=%s&to_start_date=%s", account.ID, fully["available_from"], fully["available_to"]), "", http.StatusOK, &list)
	if n, _ := fully["available_count"].(float64); list.Count != 120 || int(n) != 120 {
		t.Fatalf("available_count %v, /v1/activities count %d, want 120", fully["available_count"], list.Count)
	}

	// Only the 60-day webhook passes its threshold within 365 days: fan-out
	// is decided at publish, so the log already holds every delivery.
	var log struct {
		Results []struct {
			Webhook string `json:"webhook"`
		} `json:"results"`
	}
	c.json("GET", "/v1/deliveries?event=activities.partially_synced", "", http.StatusOK, &log)
	if len(log.Results) != 2 {
		t.Fatalf("activities.partially_synced went to %d webhooks, want 2 (\"*\" and 60 days)", len(log.Results))
	}
	reqs := partial.wait(t, 1)
	if !strings.Contains(string(reqs[0].body), `"name": "60 days"`) || !strings.Contains(string(reqs[0].body), `"days_synced": 60`) {
		t.Fatalf("partially_synced delivery: %s", reqs[0].body)
	}

	// DELETE removes the data and sends accounts.removed only.
	c.json("DELETE", "/v1/accounts/"+account.ID, "", http.StatusNoContent, nil)
	c.json("GET", "/v1/activities?account="+account.ID, "", http.StatusOK, &list)
	if list.Count != 0 {
		t.Fatalf("after DELETE, /v1/activities count %d", list.Count)
	}
	c.json("POST", "/v1/sandbox/accounts/"+account.ID+"/refresh", `{"added":1}`, http.StatusNotFound, nil)
	c.json("POST", "/v1/sandbox/accounts", `{"activities": -1}`, http.StatusBadRequest, nil)
}

func covers(got, want map[string]int) bool {
	for k, n := range want {
		if got[k] < n {
			return false
		}
	}
	return true
}
