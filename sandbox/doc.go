// Package sandbox simulates the Argyle v1 data that hookd's events talk
// about: users, accounts, activities, payouts and profiles, generated
// deterministically from a seed, and the realistic event sequences that a
// connecting, refreshing or removed account sends.
//
// The objects marshal to exactly the v1 field sets and key order documented
// in argyle-v1-data.md. Persistence goes through the Store interface
// (NewMemStore is an in-memory implementation); events go out through a
// hookd.EventService, so simulated events reach subscribers along the same
// delivery path as any other.
//
// The Simulator keeps the rules of PRODUCT.md: accounts.updated at least
// twice during a connect; *.partially_synced once per distinct days_synced
// threshold shorter than the history; added activities newer than every
// existing one; and every count and range in a payload equal to what the
// /v1/activities and /v1/payouts filters return for it.
package sandbox
