// Package fleettest gives tests the real NATS server as a separate process:
// the nats-server binary of the version pinned in go.mod, built once per
// test into its temporary directory. Tests of a fleet pointed at an
// external NATS cluster run it rather than a fake, so they exercise the
// same client paths an operator's cluster would.
package fleettest
