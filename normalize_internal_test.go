package hookd

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzNormalizeFast checks that the fast path, whenever it answers, answers
// exactly what the token-by-token path does, and that it answers for the
// payloads hookd sees every day; for valid JSON, with the check skipped
// too (NormalizeValidData).
func FuzzNormalizeFast(f *testing.F) {
	for _, s := range []string{`{}`, `{"account":"a","user":"u","x":1}`, `{"user":"u","x":{"a":[1,"}"]},"account":"a"}`,
		`{"x":"a,\"b\"","account":"a"}`, ` { "user" : null } `, `{"account":1,"account":2}`, `{"a\u0062":1}`, `[]`, `{"a":1`,
		"{\n\t\"x\": \"a \\\" b\\\\\" ,\r\n \"user\" : [ 1 , {\"y\" : \" \"} ] }"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, valid := range []bool{false, true} {
			if valid && !json.Valid(b) {
				continue
			}
			fast, ok := normalizeFast(b, valid)
			if !ok {
				continue
			}
			slow, err := normalizeSlow(b)
			if err != nil {
				t.Fatalf("fast path (valid %v) accepted %q as %q; the slow path refuses it: %v", valid, b, fast, err)
			}
			if !bytes.Equal(fast, slow) {
				t.Fatalf("normalize %q: fast path (valid %v) got %q, slow path %q", b, valid, fast, slow)
			}
		}
	})
}

func TestNormalizeFastTakesCommonPayloads(t *testing.T) {
	t.Parallel()
	for _, s := range []string{`{"account":"a","user":"u","available_count":3}`, `{"x":[{"y":"}"}],"user":"u","account":"a"}`, `{}`,
		"{ \"x\" : \"a b\\\" c\" ,\n\t\"account\" : \"a\" }"} {
		want, _ := normalizeSlow(json.RawMessage(s))
		for _, valid := range []bool{false, true} {
			got, ok := normalizeFast(json.RawMessage(s), valid)
			if !ok {
				t.Errorf("normalizeFast(%s, %v) fell back to the slow path", s, valid)
				continue
			}
			if !bytes.Equal(got, want) {
				t.Errorf("normalizeFast(%s, %v) got %s, want %s", s, valid, got, want)
			}
		}
	}
}
