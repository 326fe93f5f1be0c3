package sandbox

import "context"

// ActivityFinder is implemented by stores that find one activity by ID,
// for GET /v1/activities/{id}. It is separate from Store so that existing
// implementations need not grow; MemStore and the SQLite store have it.
type ActivityFinder interface {
	// FindActivityByID returns the tenant's activity.
	// Returns ENOTFOUND if it does not exist.
	FindActivityByID(ctx context.Context, tenantID, id string) (*Activity, error)
}

var _ ActivityFinder = (*MemStore)(nil)

// FindActivityByID implements ActivityFinder.
func (s *MemStore) FindActivityByID(ctx context.Context, tenantID, id string) (*Activity, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.tenant(tenantID, false).activities[id]
	if !ok {
		return nil, notFound("Activity", id)
	}
	return cloneActivity(a), nil
}
