// Package fleettest builds the fleet's NATS server programs for tests, so
// that they run the real servers as separate processes, not fakes: the
// nats-server binary of the version pinned in go.mod (a fleet pointed at
// an external cluster, exercising the client paths an operator's cluster
// would), and knockbeep-nats, the embedded server knockbeepd starts when
// its [cluster] table says serve.
package fleettest
