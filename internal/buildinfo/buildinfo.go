// Package buildinfo tells the programs' --version what they were built
// from.
package buildinfo

import "runtime/debug"

// Version is the module version the binary was built from ("v1.2.0"), or
// for a build from a checkout "devel" and the VCS revision when the build
// recorded one; "unknown" without build information.
func Version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	return version(info)
}

func version(info *debug.BuildInfo) string {
	v := info.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				v += " " + s.Value
			}
		}
	}
	return v
}
