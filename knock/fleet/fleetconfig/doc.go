// Package fleetconfig is the [cluster] table of knockbeepd's config: the
// settings of a fleet node (package fleet) and their rules, kept apart
// from the fleet itself so that the config reader, which the knock
// client also links, can check them without pulling NATS into every
// binary. Package fleet's Config is this Config.
//
// Problems returns each mistake with the key it is about, so that the
// config reader can name the line; Validate joins them into one error for
// a Config made in code.
package fleetconfig
