package http

import (
	"bytes"
	"encoding/json"
	"testing"
)

// batchByDecoder decodes a batch body as encoding/json does: the events of
// an object's "events" member, when every one is an object.
func batchByDecoder(data []byte) ([]object, bool) {
	var o object
	if err := json.Unmarshal(data, &o); err != nil || o == nil {
		return nil, false
	}
	raw, ok := o["events"]
	if !ok {
		return nil, false
	}
	var objs []object
	if err := json.Unmarshal(raw, &objs); err != nil || objs == nil {
		return nil, false
	}
	for _, e := range objs {
		if e == nil {
			return nil, false
		}
	}
	return objs, true
}

func sameObjects(a, b []object) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for k, v := range a[i] {
			if w, ok := b[i][k]; !ok || !bytes.Equal(v, w) {
				return false
			}
		}
	}
	return true
}

var batchSeeds = []string{
	`{"events":[{"event":"accounts.added","data":{"account":"a","user":"u"}}]}`,
	` { "events" : [ { "event" : "accounts.added" , "data" : { "a" : [1, "x\"]}", {"b": null}] } , "resource" : {} } , {} ] , "x" : 1 } `,
	`{"events":[{"event":"a","event":"b","data":1.5e3,"k":true,"n":null,"f":false}],"events":[{"x":-0}]}`,
	`{"events":[]}`,
	`{"events":[{"\u0065vent":"accounts.added","data":{}}]}`,
	`{"events":[{"event":"accounts.added","data":{}},"x",null,{}]}`,
	`{"events":"x"}`,
	`{"events":null}`,
	`{"other":[{}]}`,
	`{"events":[{"évent":1}]}`,
	`[{"events":[]}]`,
	`{"events":[{"a":"\\"}]}`,
	`{"events":[{}]} x`,
	`{`,
	``,
}

func TestSplitBatch(t *testing.T) {
	for _, s := range batchSeeds {
		got, ok := splitBatch([]byte(s))
		want, wantOK := batchByDecoder([]byte(s))
		if ok && (!wantOK || !sameObjects(got, want)) {
			t.Errorf("splitBatch(%s) = %q, want %q (decoder ok %v)", s, got, want, wantOK)
		}
	}
	// The fast path takes the common bodies, and only plain names.
	for _, s := range batchSeeds[:4] {
		if _, ok := splitBatch([]byte(s)); !ok {
			t.Errorf("splitBatch(%s) fell back to the decoder", s)
		}
	}
	for _, s := range []string{batchSeeds[4], batchSeeds[5], batchSeeds[9], `{"events":[{}]} x`} {
		if _, ok := splitBatch([]byte(s)); ok {
			t.Errorf("splitBatch(%s) took a body it must leave to the decoder", s)
		}
	}
}

// FuzzSplitBatch checks that whenever splitBatch or splitObject takes a
// body, it finds exactly what encoding/json finds.
func FuzzSplitBatch(f *testing.F) {
	for _, s := range batchSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if o, ok := splitObject(data); ok {
			var want object
			if err := json.Unmarshal(data, &want); err != nil || want == nil || !sameObjects([]object{o}, []object{want}) {
				t.Fatalf("splitObject(%q) = %q, encoding/json finds %q (%v)", data, o, want, err)
			}
		}
		got, ok := splitBatch(data)
		if !ok {
			return
		}
		want, wantOK := batchByDecoder(data)
		if !wantOK || !sameObjects(got, want) {
			t.Fatalf("splitBatch(%q) = %q, encoding/json finds %q (ok %v)", data, got, want, wantOK)
		}
	})
}

// FuzzPlainString checks that whenever plainString takes a value, it finds
// the string encoding/json decodes.
func FuzzPlainString(f *testing.F) {
	for _, s := range []string{`"accounts.added"`, ` "a b" `, `"a\"b"`, `"a\\b"`, `"\u0061"`, `"é"`, `""`, `"`, `1`, `"a"x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := plainString(raw)
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal(raw, &want); err != nil || got != want {
			t.Fatalf("plainString(%q) = %q, encoding/json finds %q (%v)", raw, got, want, err)
		}
	})
}

func TestPlainString(t *testing.T) {
	for raw, want := range map[string]bool{`"accounts.added"`: true, ` "a b" `: true, `""`: true,
		`"a\"b"`: false, `"a\\b"`: false, `"\u0061"`: false, `"é"`: false, `1`: false, `"`: false, "\"a\tb\"": false} {
		if _, ok := plainString(json.RawMessage(raw)); ok != want {
			t.Errorf("plainString(%s) ok = %v, want %v", raw, ok, want)
		}
	}
}
