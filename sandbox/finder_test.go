package sandbox_test

import (
	"testing"

	"github.com/hookd/hookd/sandbox"
	"github.com/hookd/hookd/sandbox/sandboxtest"
)

func TestMemStore_FindActivityByID(t *testing.T) {
	t.Parallel()
	sandboxtest.RunActivityFinder(t, func(t *testing.T) sandbox.Store { return sandbox.NewMemStore() })
}
