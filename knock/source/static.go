package source

import (
	"net/netip"
	"slices"
	"time"

	"github.com/knockbeep/knockbeep/knock"
)

// staticKind is a door with a fixed sequence, as knockd's.
var staticKind = kind{
	name:  "static",
	takes: func(*knock.Door) bool { return true },
	open: func(d knock.Door, _ Env) (Source, error) {
		return static{seq: slices.Clone(d.Sequence)}, nil
	},
}

type static struct{ seq []knock.Step }

func (s static) Current(time.Time) ([]Sequence, time.Time, error) {
	if len(s.seq) == 0 {
		return nil, time.Time{}, nil
	}
	return []Sequence{{Steps: s.seq}}, time.Time{}, nil
}

func (static) Used(Sequence, netip.Addr, time.Time) error { return nil }
