// Package deliver is hookd's delivery engine: a Worker claims due
// deliveries from a hookd.DeliveryService, builds each body once, signs it
// (X-Argyle-Signature and Standard Webhooks headers, see package signature),
// POSTs it, and records every attempt in batches, scheduling retries with a
// RetryPolicy.
//
// Guarantees:
//
//   - At least once. A claimed delivery is leased, not removed: if the
//     process dies before its result is written, the lease runs out and the
//     delivery is claimed again. Receivers deduplicate on webhook-id, which
//     is the delivery's ID and the same on every retry and redelivery.
//   - No ordering. Deliveries of one webhook run concurrently, retries
//     interleave with newer events, and several nodes share the queue, so
//     events can arrive in any order; Argyle promises none either. Receivers
//     that care order by the data (timestamps, ranges), not by arrival.
//   - Isolation. Each webhook has a concurrency limit and a circuit breaker;
//     one webhook's backlog is served round-robin with the others, and a dead
//     endpoint's deliveries wait in the store (not in workers) while its
//     breaker is open. Deliveries wait in the store, too, while their
//     webhook's slots are full. A store that parks deliveries
//     (hookd.DeliveryParker) is asked to park a webhook's new ones while its
//     breaker is open or its attempts have stalled, which costs it less.
//   - Egress control. Egress refuses loopback, private, link-local,
//     metadata and other special-purpose addresses at connect time (after
//     DNS), unless configured otherwise, and can send through a proxy.
//
// Plain http:// targets are sent with an HTTP/1.1 client of the package's
// own (h1Client), https:// and proxied ones with net/http.
//
// Success is a 2xx within the timeout; redirects are not followed. A 410
// fails the delivery and disables the webhook ("gone"), as does failing
// without a success for hookd.FailingDisableAfter ("failing").
package deliver
