package beeper

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// Options configure Open.
type Options struct {
	// Logger gets which back end was chosen and why others were passed
	// over, and warnings such as a missing speaker driver; nil discards.
	Logger *slog.Logger
	// WAVDir is where "auto" writes WAV files, one per song, when the
	// machine has no speaker; "" leaves WAV out of the auto chain. It is
	// created if missing.
	WAVDir string
	// WAVRate is the sample rate of WAV speakers, in hertz; 0 means
	// DefaultWAVRate.
	WAVRate int
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return discardLogger
	}
	return o.Logger
}

// A Spec names a speaker: a back end and, optionally, its device or file.
// Its text form, which daemon, beep and tests share, is one of
//
//	auto              the first that works of: evdev, console (Linux), or
//	                  speaker, console (FreeBSD), then a WAV file per song
//	                  in Options.WAVDir
//	evdev[:PATH]      Linux input event device (default: found via sysfs)
//	console[:PATH]    console ioctls (default: Linux /dev/tty0, FreeBSD
//	                  /dev/ttyv0, syscons only)
//	speaker[:PATH]    FreeBSD speaker(4) (default: /dev/speaker)
//	wav:PATH          a .wav file, rewritten by every song, or an existing
//	                  directory that gets one file per song
//	none              plays nothing
type Spec struct {
	Kind string // "auto", "evdev", "console", "speaker", "wav" or "none"
	Path string // "" for the back end's default
}

// SpecForms lists the valid speaker specs, for error and usage messages.
const SpecForms = "auto, evdev[:PATH], console[:PATH], speaker[:PATH], wav:PATH or none"

// SpecKinds returns the kinds a spec may start with, for suggestions.
func SpecKinds() []string { return []string{"auto", "evdev", "console", "speaker", "wav", "none"} }

// A SpecError is what ParseSpec found wrong with a speaker spec. Callers
// that word their own messages (config, with its line numbers and
// suggestions) take its parts instead of its text.
type SpecError struct {
	Spec string // the spec as given
	// Unknown is set when the kind before any ':' is none of SpecKinds;
	// Problem is empty then.
	Unknown bool
	// Problem says what is wrong with a spec of a known kind, and what to
	// write instead: "wav needs a path: wav:FILE.wav or wav:DIRECTORY".
	Problem string
}

func (e *SpecError) Error() string {
	if e.Unknown {
		return fmt.Sprintf("beeper: unknown speaker %q; valid speakers: %s", e.Spec, SpecForms)
	}
	return fmt.Sprintf("beeper: speaker %q: %s", e.Spec, e.Problem)
}

// ParseSpec parses a speaker spec. It is the one grammar of speaker specs:
// Open, the daemon's config check and the daemon's WAV handling all read
// specs through it. It checks the syntax only; Open finds out whether the
// device exists. Its errors are *SpecError.
func ParseSpec(text string) (Spec, error) {
	problem := func(format string, args ...any) (Spec, error) {
		return Spec{}, &SpecError{Spec: text, Problem: fmt.Sprintf(format, args...)}
	}
	kind, path, hasPath := strings.Cut(text, ":")
	switch kind {
	case "auto", "none":
		if hasPath {
			return problem("%s takes no path; valid speakers: %s", kind, SpecForms)
		}
	case "evdev", "console", "speaker":
		if hasPath && path == "" {
			return problem("empty path after ':'; use %s or %s:PATH", kind, kind)
		}
	case "wav":
		if path == "" {
			return problem("wav needs a path: wav:FILE.wav or wav:DIRECTORY")
		}
	default:
		return Spec{}, &SpecError{Spec: text, Unknown: true}
	}
	if strings.ContainsRune(path, 0) {
		return problem("the path contains a NUL byte")
	}
	return Spec{Kind: kind, Path: path}, nil
}

// String is the spec's text form, which ParseSpec reads back.
func (s Spec) String() string {
	if s.Path == "" {
		return s.Kind
	}
	return s.Kind + ":" + s.Path
}

// Open opens the speaker that spec names (see Spec for the forms). It
// never returns a nil Speaker without an error. On Linux it warns when the
// kernel has no PC speaker device, as then console ioctls succeed and
// nothing sounds.
func Open(spec string, opts Options) (Speaker, error) {
	s, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	return OpenSpec(s, opts)
}

// OpenSpec opens the speaker s names.
func OpenSpec(s Spec, opts Options) (Speaker, error) {
	log := opts.logger()
	var (
		sp  Speaker
		err error
	)
	switch s.Kind {
	case "auto":
		return openAuto(opts)
	case "none":
		log.Info("beeper: speaker none: nothing will sound")
		return noSpeaker{}, nil
	case "wav":
		var w *wavSpeaker
		if w, err = openWAV(s.Path, opts.WAVRate); err == nil {
			sp = w
		}
	case "evdev":
		sp, err = openEvdevSpec(s.Path, log)
	case "console":
		sp, err = openConsoleSpec(s.Path, log)
	case "speaker":
		sp, err = openSpeakerSpec(s.Path, log)
	default:
		return nil, &SpecError{Spec: s.String(), Unknown: true}
	}
	if err != nil {
		return nil, err
	}
	log.Info("beeper: speaker opened", "speaker", sp.String())
	return sp, nil
}

// OpenDevice opens the speaker device at path, whatever its kind, as
// beep's -e does: it opens path once, refuses anything but a character
// device, then asks the open device which interface it speaks (Linux:
// evdev, then console; FreeBSD: speaker(4), then console).
func OpenDevice(path string, opts Options) (Speaker, error) {
	sp, err := openDevice(path, opts.logger())
	if err != nil {
		return nil, err
	}
	opts.logger().Info("beeper: speaker opened", "speaker", sp.String())
	return sp, nil
}

// A candidate is one back end of the auto chain.
type candidate struct {
	kind string
	open func() (Speaker, error)
}

// openAuto tries the system's back ends in order, then the WAV directory,
// logging why each one it passes over failed.
func openAuto(opts Options) (Speaker, error) {
	log := opts.logger()
	chain := autoCandidates(log)
	if opts.WAVDir != "" {
		chain = append(chain, candidate{kind: "wav", open: func() (Speaker, error) {
			if err := os.MkdirAll(opts.WAVDir, 0o755); err != nil {
				return nil, fmt.Errorf("beeper: wav: %w", err)
			}
			w, err := openWAV(opts.WAVDir, opts.WAVRate)
			if err != nil {
				return nil, err
			}
			return w, nil
		}})
	}
	var reasons []string
	for _, c := range chain {
		sp, err := c.open()
		if err != nil {
			log.Info("beeper: auto: passing over a speaker", "kind", c.kind, "reason", err)
			reasons = append(reasons, c.kind+": "+strings.TrimPrefix(strings.TrimPrefix(err.Error(), "beeper: "), c.kind+": "))
			continue
		}
		if _, isWAV := sp.(*wavSpeaker); isWAV {
			log.Warn("beeper: auto: no speaker on this machine, writing WAV files instead", "speaker", sp.String())
		} else {
			log.Info("beeper: auto: chose a speaker", "speaker", sp.String())
		}
		return sp, nil
	}
	if len(reasons) == 0 {
		return nil, errors.New("beeper: auto: this system has no speaker back end and no WAV directory was given")
	}
	return nil, fmt.Errorf("beeper: auto: no speaker found (%s)", strings.Join(reasons, "; "))
}
