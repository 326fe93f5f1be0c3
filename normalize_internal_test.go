package hookd

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzNormalizeFast checks that the fast path, whenever it answers, answers
// exactly what the token-by-token path does, and that it answers for the
// payloads hookd sees every day.
func FuzzNormalizeFast(f *testing.F) {
	for _, s := range []string{`{}`, `{"account":"a","user":"u","x":1}`, `{"user":"u","x":{"a":[1,"}"]},"account":"a"}`,
		`{"x":"a,\"b\"","account":"a"}`, ` { "user" : null } `, `{"account":1,"account":2}`, `{"a\u0062":1}`, `[]`, `{"a":1`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := normalizeFast(b)
		if !ok {
			return
		}
		slow, err := normalizeSlow(b)
		if err != nil {
			t.Fatalf("fast path accepted %q as %q; the slow path refuses it: %v", b, fast, err)
		}
		if !bytes.Equal(fast, slow) {
			t.Fatalf("normalize %q: fast path got %q, slow path %q", b, fast, slow)
		}
	})
}

func TestNormalizeFastTakesCommonPayloads(t *testing.T) {
	t.Parallel()
	for _, s := range []string{`{"account":"a","user":"u","available_count":3}`, `{"x":[{"y":"}"}],"user":"u","account":"a"}`, `{}`} {
		got, ok := normalizeFast(json.RawMessage(s))
		if !ok {
			t.Errorf("normalizeFast(%s) fell back to the slow path", s)
			continue
		}
		want, _ := normalizeSlow(json.RawMessage(s))
		if !bytes.Equal(got, want) {
			t.Errorf("normalizeFast(%s) got %s, want %s", s, got, want)
		}
	}
}
