package source

import (
	"errors"
	"net/netip"
	"time"

	"github.com/knockbeep/knockbeep/knock"
)

// messageKind is a message door: it has no sequence for the matcher (the
// daemon gives its knocks to package message's assembler instead), so its
// source offers none; its range still passes the kernel filter, as any
// door's with Rotating settings.
var messageKind = kind{
	name:  "message",
	takes: func(d *knock.Door) bool { return d.Message != nil },
	open:  func(knock.Door, Env) (Source, error) { return noSequence{}, nil },
}

type noSequence struct{}

func (noSequence) Current(time.Time) ([]Sequence, time.Time, error) { return nil, time.Time{}, nil }

func (noSequence) Used(Sequence, netip.Addr, time.Time) error {
	return errors.New("a message door has no sequence to use")
}
