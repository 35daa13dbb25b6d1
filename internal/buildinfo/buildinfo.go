package buildinfo

import "runtime/debug"

// stamped is set by -ldflags -X; a linker stamp beats the build
// information because only the packaging script knows the tag a checkout
// is at (the toolchain records the commit, not its tag).
var stamped string

// Version is the version the binary was built from: "v0.2.0",
// "v0.2.0-3-g0123abc", "devel (commit 0123abc, dirty)", or "devel" when
// the build recorded nothing (go build -buildvcs=false), "unknown"
// without build information at all.
func Version() string {
	if stamped != "" {
		return stamped
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	return version(info)
}

func version(info *debug.BuildInfo) string {
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var revision, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if revision == "" {
		return "devel"
	}
	if len(revision) > 12 {
		revision = revision[:12]
	}
	if modified == "true" {
		return "devel (commit " + revision + ", dirty)"
	}
	return "devel (commit " + revision + ")"
}
