// Package config reads knockbeepd's configuration: its own strict TOML
// (configs/knockbeepd.toml) or knockd's knockd.conf, told apart by content.
//
// Work in progress: see config.go for the API.
package config
