package hookd_test

import (
	"strings"
	"testing"

	"github.com/hookd/hookd"
)

func TestSecretBox(t *testing.T) {
	t.Parallel()
	box, err := hookd.NewSecretBox("0123456789abcdef-key")
	if err != nil {
		t.Fatal(err)
	}
	sealed := box.Seal("my little secret")
	if sealed == "my little secret" || !strings.HasPrefix(sealed, "enc:v1:") {
		t.Fatalf("Seal got %q, want an encrypted value", sealed)
	}
	if again := box.Seal("my little secret"); again == sealed {
		t.Fatalf("Seal is deterministic; want a fresh nonce each time")
	}
	if got, err := box.Open(sealed); err != nil || got != "my little secret" {
		t.Fatalf("Open got %q, %v", got, err)
	}
	if got, err := box.Open("plain-from-before"); err != nil || got != "plain-from-before" {
		t.Fatalf("Open(plain) got %q, %v", got, err)
	}
	if box.Seal("") != "" {
		t.Fatalf(`Seal("") should stay empty`)
	}
	other, _ := hookd.NewSecretBox("another-key-of-16+")
	if _, err := other.Open(sealed); err == nil {
		t.Fatalf("Open with the wrong key got no error")
	}
	var none *hookd.SecretBox
	if _, err := none.Open(sealed); err == nil {
		t.Fatalf("Open without a key got no error")
	}
	if none.Seal("x") != "x" {
		t.Fatalf("nil box should store plain")
	}
	if _, err := hookd.NewSecretBox("short"); err == nil {
		t.Fatalf("NewSecretBox(short) got no error")
	}
}
