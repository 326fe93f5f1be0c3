package http

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hookd/hookd/bench"
)

var validSeeds = []string{
	``, ` `, `null`, `true`, `false`, `nul`, `truex`, `0`, `-0`, `01`, `-`, `1.`, `1.5`, `.5`,
	`1e`, `1e+`, `1E-07`, `-12.5e3`, `1a`, `"`, `""`, `"a`, `"\"`, `"\u00e9"`, `"\u00g9"`, `"\u12"`,
	`"\x"`, "\"\x01\"", "\"\xff\xfe\"", `"\/\b\f\n\r\t"`, `[]`, `[ ]`, `[1,]`, `[,1]`, `[1 2]`,
	`{}`, `{ }`, `{"a":1}`, `{"a" : [1, {"b": null}] }`, `{"a":1,}`, `{"a"}`, `{"a":}`, `{1:2}`,
	`{"a":1 "b":2}`, `[}`, `{]`, `[[[]]]`, `[[[]]`, "\t\r\n[1]\n", `[1] [2]`, `{"events":[{"event":"x","data":{}}]}`,
}

// FuzzValidJSON holds validJSON to json.Valid.
func FuzzValidJSON(f *testing.F) {
	for _, s := range validSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := validJSON(data), json.Valid(data); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", data, got, want)
		}
	})
}

func TestValidJSON(t *testing.T) {
	for _, s := range validSeeds {
		if got, want := validJSON([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("validJSON(%q) = %v, json.Valid says %v", s, got, want)
		}
	}
	// encoding/json refuses arrays and objects nested deeper than 10,000.
	for _, depth := range []int{10000, 10001} {
		for _, open := range []string{"[", `{"a":`} {
			close := map[string]string{"[": "]", `{"a":`: "}"}[open]
			s := []byte(strings.Repeat(open, depth) + "1" + strings.Repeat(close, depth))
			if got, want := validJSON(s), json.Valid(s); got != want {
				t.Errorf("%d of %q: validJSON = %v, json.Valid says %v", depth, open, got, want)
			}
			empty := []byte(strings.Repeat("[", depth) + strings.Repeat("]", depth))
			if got, want := validJSON(empty), json.Valid(empty); got != want {
				t.Errorf("%d empty arrays: validJSON = %v, json.Valid says %v", depth, got, want)
			}
		}
	}
}

// BenchmarkValidJSON checks a batch of 100 events as hookd bench publishes
// them.
func BenchmarkValidJSON(b *testing.B) {
	body := bench.AppendBatch(nil, "accounts.added", 0, 100, 1764892800000000000)
	for _, v := range []struct {
		name  string
		valid func([]byte) bool
	}{{"validJSON", validJSON}, {"json.Valid", json.Valid}} {
		b.Run(v.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for range b.N {
				if !v.valid(body) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
