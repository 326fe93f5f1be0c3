package postgres_test

import (
	"testing"

	"github.com/hookd/hookd/postgres"
	"github.com/hookd/hookd/sandbox"
	"github.com/hookd/hookd/sandbox/sandboxtest"
)

func TestSandboxStore(t *testing.T) {
	sandboxtest.Run(t, func(t *testing.T) sandbox.Store {
		return postgres.NewSandboxStore(MustOpenDB(t))
	})
}

func TestSandboxStore_Simulator(t *testing.T) {
	sandboxtest.RunSimulator(t, func(t *testing.T) sandbox.Store {
		return postgres.NewSandboxStore(MustOpenDB(t))
	})
}

func TestSandboxStore_ActivityFinder(t *testing.T) {
	sandboxtest.RunActivityFinder(t, func(t *testing.T) sandbox.Store {
		return postgres.NewSandboxStore(MustOpenDB(t))
	})
}
