package sandbox_test

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd/sandbox"
)

// orderedValue is a JSON value that remembers object key order.
type orderedValue struct {
	keys   []string
	fields map[string]*orderedValue
	items  []*orderedValue
	null   bool
	scalar any
}

func parseOrdered(t *testing.T, b []byte) *orderedValue {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := readOrdered(dec)
	if err != nil {
		t.Fatalf("parse %s: %v", b, err)
	}
	return v
}

func readOrdered(dec *json.Decoder) (*orderedValue, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		v := &orderedValue{fields: map[string]*orderedValue{}}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			c, err := readOrdered(dec)
			if err != nil {
				return nil, err
			}
			v.keys = append(v.keys, k.(string))
			v.fields[k.(string)] = c
		}
		_, err := dec.Token()
		return v, err
	case json.Delim('['):
		v := &orderedValue{items: []*orderedValue{}}
		for dec.More() {
			c, err := readOrdered(dec)
			if err != nil {
				return nil, err
			}
			v.items = append(v.items, c)
		}
		_, err := dec.Token()
		return v, err
	case nil:
		return &orderedValue{null: true}, nil
	}
	return &orderedValue{scalar: tok}, nil
}

// freeForm are the members whose contents are not a fixed field set.
var freeForm = map[string]bool{"metadata": true, "external_metadata": true, "gross_pay_list_totals": true}

// sameShape reports differences in object keys and their order between got
// and want, recursing wherever both sides hold an object or a non-empty
// array.
func sameShape(t *testing.T, path string, got, want *orderedValue) {
	t.Helper()
	if got.null || want.null {
		return
	}
	if want.fields != nil {
		if got.fields == nil {
			t.Errorf("%s: got a non-object, want an object", path)
			return
		}
		if !slices.Equal(got.keys, want.keys) {
			t.Errorf("%s keys\n got %v\nwant %v", path, got.keys, want.keys)
			return
		}
		for _, k := range want.keys {
			if !freeForm[k] {
				sameShape(t, path+"."+k, got.fields[k], want.fields[k])
			}
		}
	}
	if want.items != nil && len(want.items) > 0 && len(got.items) > 0 {
		sameShape(t, path+"[0]", got.items[0], want.items[0])
	}
}

func generate(t *testing.T, employer string) *sandbox.Dataset {
	t.Helper()
	now := time.Date(2026, time.November, 23, 7, 30, 0, 987654321, time.UTC)
	return sandbox.NewGenerator(1).Generate(now, "00000000-0000-4000-8000-000000000001", sandbox.LookupEmployer(employer), 200, 150)
}

func TestObjectShapes(t *testing.T) {
	t.Parallel()
	for _, employer := range []string{"uber", "doordash", "taskrabbit", "gnomedepot", "Some Employer"} {
		t.Run(employer, func(t *testing.T) {
			ds := generate(t, employer)
			user := sandbox.NewGenerator(1).User(time.Now())
			objects := map[string]any{
				"user": user, "account": ds.Account, "profile": ds.Profile,
				"activity": ds.Activities[len(ds.Activities)-1], "payout": ds.Payouts[len(ds.Payouts)-1],
			}
			for name, obj := range objects {
				want, err := os.ReadFile("testdata/v1-" + name + ".json")
				if err != nil {
					t.Fatal(err)
				}
				got, err := json.Marshal(obj)
				if err != nil {
					t.Fatal(err)
				}
				sameShape(t, name, parseOrdered(t, got), parseOrdered(t, want))
			}
		})
	}
}

// TestObjectRoundTrip checks that Argyle's own examples decode into the
// types and encode back with the same keys in the same order, and that
// generated objects survive a round trip unchanged (as a store keeping JSON
// needs).
func TestObjectRoundTrip(t *testing.T) {
	t.Parallel()
	ds := generate(t, "uber")
	for name, obj := range map[string]any{
		"user": &sandbox.User{}, "account": &sandbox.Account{}, "profile": &sandbox.Profile{},
		"activity": &sandbox.Activity{}, "payout": &sandbox.Payout{},
	} {
		example, err := os.ReadFile("testdata/v1-" + name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(example, obj); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		sameShape(t, name, parseOrdered(t, got), parseOrdered(t, example))
	}
	for _, obj := range []any{ds.Account, ds.Profile, ds.Activities[0], ds.Payouts[0]} {
		b1, _ := json.Marshal(obj)
		var m json.RawMessage
		switch obj.(type) {
		case *sandbox.Account:
			var v sandbox.Account
			_ = json.Unmarshal(b1, &v)
			m, _ = json.Marshal(&v)
		case *sandbox.Profile:
			var v sandbox.Profile
			_ = json.Unmarshal(b1, &v)
			m, _ = json.Marshal(&v)
		case *sandbox.Activity:
			var v sandbox.Activity
			_ = json.Unmarshal(b1, &v)
			m, _ = json.Marshal(&v)
		case *sandbox.Payout:
			var v sandbox.Payout
			_ = json.Unmarshal(b1, &v)
			m, _ = json.Marshal(&v)
		}
		if string(m) != string(b1) {
			t.Errorf("round trip changed\n%s\ninto\n%s", b1, m)
		}
	}
}

func TestTimeFormats(t *testing.T) {
	t.Parallel()
	ds := generate(t, "uber")
	micros := regexp.MustCompile(`^"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"$`)
	seconds := regexp.MustCompile(`^"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"$`)
	a := ds.Activities[0]
	for _, c := range []struct {
		name string
		v    any
		re   *regexp.Regexp
	}{
		{"created_at", a.CreatedAt, micros},
		{"account.updated_at", ds.Account.UpdatedAt, micros},
		{"start_date", a.StartDate, seconds},
		{"payout_date", ds.Payouts[0].PayoutDate, seconds},
		{"available_from", ds.Account.Availability.Activities.AvailableFrom, seconds},
	} {
		b, _ := json.Marshal(c.v)
		if !c.re.Match(b) {
			t.Errorf("%s = %s, want %s", c.name, b, c.re)
		}
	}
	if got := ds.Account.CreatedAt.Nanosecond() % 1000; got != 0 {
		t.Errorf("created_at keeps %d ns below the microsecond", got)
	}
}

func TestGenerator(t *testing.T) {
	t.Parallel()
	t.Run("Deterministic", func(t *testing.T) {
		a, _ := json.Marshal(generate(t, "lyft"))
		b, _ := json.Marshal(generate(t, "lyft"))
		if string(a) != string(b) {
			t.Errorf("same seed, different data")
		}
	})
	t.Run("History", func(t *testing.T) {
		ds := generate(t, "gnomedepot")
		now := time.Date(2026, time.November, 23, 7, 30, 0, 987654321, time.UTC)
		if len(ds.Activities) != 150 {
			t.Fatalf("%d activities, want 150", len(ds.Activities))
		}
		first := now.Add(-200 * 24 * time.Hour).Truncate(time.Second)
		for i, a := range ds.Activities {
			if a.StartDate.Before(first) || a.EndDate.After(now) || a.EndDate.Before(a.StartDate.Time) {
				t.Errorf("activity %d from %v to %v, outside %v..%v", i, a.StartDate, a.EndDate, first, now)
			}
			if i > 0 && a.StartDate.Before(ds.Activities[i-1].StartDate.Time) {
				t.Errorf("activities not ordered by start_date at %d", i)
			}
			if a.Account != ds.Account.ID || a.Type != sandbox.ActivityHourly {
				t.Errorf("activity %d: account %s type %s", i, a.Account, a.Type)
			}
		}
		for i, p := range ds.Payouts {
			if p.PayoutDate.Weekday() != time.Friday || p.PayoutDate.After(now) {
				t.Errorf("payout %d dated %v", i, p.PayoutDate)
			}
			if i > 0 && p.PayoutDate.Sub(ds.Payouts[i-1].PayoutDate.Time)%(14*24*time.Hour) != 0 {
				t.Errorf("payouts %d and %d not a multiple of two weeks apart", i-1, i)
			}
		}
		if n := len(ds.Payouts); n < 12 || n > 15 {
			t.Errorf("%d payouts over 200 days, want about 14", n)
		}
	})
}

func TestParseFilterTime(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		end  bool
		want time.Time
		ok   bool
	}{
		{"2019-09-23T23:57:31Z", false, time.Date(2019, 9, 23, 23, 57, 31, 0, time.UTC), true},
		{"2019-09-23T23:57:31Z", true, time.Date(2019, 9, 23, 23, 57, 31, 0, time.UTC), true},
		{"2019-09-23T20:57:31-03:00", false, time.Date(2019, 9, 23, 23, 57, 31, 0, time.UTC), true},
		{"2022-04-22T10:58:26.480241Z", false, time.Date(2022, 4, 22, 10, 58, 26, 480241000, time.UTC), true},
		{"2019-09-23", false, time.Date(2019, 9, 23, 0, 0, 0, 0, time.UTC), true},
		{"2019-09-23", true, time.Date(2019, 9, 23, 23, 59, 59, 999999999, time.UTC), true},
		{"yesterday", false, time.Time{}, false},
		{"", false, time.Time{}, false},
	}
	for _, c := range cases {
		got, err := sandbox.ParseFilterTime("from_start_date", c.in, c.end)
		if (err == nil) != c.ok || !got.Equal(c.want) {
			t.Errorf("ParseFilterTime(%q, %v) got %v, %v, want %v (ok %v)", c.in, c.end, got, err, c.want, c.ok)
		}
	}
}
