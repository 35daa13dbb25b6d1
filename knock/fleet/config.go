package fleet

import "github.com/knockbeep/knockbeep/knock/fleet/fleetconfig"

// Config is the [cluster] table of knockbeepd's config. It lives in
// package fleetconfig, which has no NATS in it, so that the config reader
// can check it in every binary that reads configs.
type Config = fleetconfig.Config
