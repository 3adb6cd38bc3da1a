// Package agent builds the coordination an agent fleet needs on top of a
// converge node: presence, task ownership, leases with fencing tokens,
// claims, and an idempotency registry for exactly-once effects.
//
// # What this package can promise, and what it cannot
//
// Everything here is replicated state without a coordinator, so it keeps
// working through partitions and crashes, and it is eventually consistent:
// replicas that have seen the same updates agree. It follows that no
// primitive here gives mutual exclusion. Two agents that cannot talk can
// both believe they own a task, both claim it, both hold a lease. What an
// agent system needs is not exclusion but exactly-once effects, and those
// come from three pieces together:
//
//   - at-least-once execution: a task is retried until someone acknowledges
//     it, so nothing is lost when an agent crashes;
//   - an idempotency key per operation, checked where the effect happens: a
//     resource (a database row, a payment API, the Sink in examples/agents)
//     that applies each key once turns duplicate executions into no-ops;
//   - fencing tokens, checked by the resource, so a holder whose lease was
//     taken over is refused instead of trusted (Fence).
//
// The coordination primitives make duplicate executions rare and cheap,
// never impossible; the idempotency key makes them harmless. Each primitive
// states its own guarantee:
//
//   - Presence (Agent.Live): the agents that registered and are live
//     members. A crashed agent leaves every view after memberlist's failure
//     detection (seconds), a graceful Close at once; a restarted agent
//     appears with its new epoch.
//   - Ownership (Agent.Owner, Agent.Owns, Ownership): rendezvous hashing of
//     a key over the live agents. While every replica sees the same live
//     set, exactly one agent owns each key and no message is needed; while
//     views differ (a join or failure still spreading, a partition), two
//     agents can own a key at once. Ownership.Next reports the keys a view
//     change moved to and from this agent.
//   - Leases (Agent.Lease): a name held by one holder until an expiry on
//     its hybrid logical clock, renewed by heartbeat. Every new holder gets
//     a token strictly greater than every token it has seen, and concurrent
//     holders (possible in a partition) get different tokens, so a Fence
//     at the resource refuses all but the newest.
//   - Claims (Agent.Claims): the earliest claim of a task wins, by (hybrid
//     logical clock, replica), on every replica once they have exchanged
//     claims; a loser learns it lost as soon as its replica learns (Claim's
//     result, Claims.WaitLost). A claim whose claimant is no longer live is
//     taken over in a higher round. With Config.Write and Config.Read set to
//     majority levels, a claim is written to and re-read from a majority
//     before it reports a win, which makes double claims rare while a
//     majority is connected; it cannot rule them out.
//   - Idempotency registry (Agent.Registry, Do): a replicated record from
//     key to outcome. Do replays the stored outcome when the key is done and
//     otherwise runs the function and records its outcome. The first
//     completion by (hybrid logical clock, replica) wins on every replica;
//     a later, different outcome for the same key is reported (Outcome.
//     Conflict), never hidden. Records expire after Config.Retention.
//     Compensations of a saga use the same registry under their own keys,
//     so a compensation is applied at most once per registry record.
//
// All state lives in ordinary node objects under Config.Prefix, so it is
// gossiped, repaired by anti-entropy and (with a data directory) durable
// like any other object.
package agent
