-- Fair claims walk the pending deliveries lane by lane: tenants in turn,
-- and each tenant's webhooks in turn. This index lets a claim find the next
-- tenant or webhook with pending work, and a lane's oldest due rows, with
-- one seek each, however large another tenant's backlog is.
CREATE INDEX deliveries_pending_lane ON deliveries (tenant_id, webhook_id, next_attempt_at)
	WHERE status = 'pending';
