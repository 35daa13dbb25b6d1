package firewall

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"time"
)

// pfTable is a FreeBSD pf table, changed through pfctl: pf has no ioctl
// interface that Go's x/sys covers, and its table entries have no timeout
// of their own. pf does keep, per entry, when its statistics were last
// cleared; Add clears them, and Expire removes the entries cleared longer
// ago than a door's open_for. That clock lives in the kernel, so a
// restarted daemon's first Expire closes what a crashed one left open.
type pfTable struct {
	spec  Spec
	pfctl string
}

var _ Set = (*pfTable)(nil)
var _ Expirer = (*pfTable)(nil)

// pfctlTimeout bounds one pfctl run; it never takes long unless pf is wedged.
const pfctlTimeout = 10 * time.Second

func openPF(s Spec) (Set, error) {
	path, err := exec.LookPath("pfctl")
	if err != nil {
		return nil, fmt.Errorf("firewall: %s: pfctl not found: %w", s, err)
	}
	return &pfTable{spec: s, pfctl: path}, nil
}

func (p *pfTable) String() string { return p.spec.String() }
func (p *pfTable) Close() error   { return nil }

func (p *pfTable) run(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), pfctlTimeout)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, p.pfctl, append([]string{"-q", "-t", p.spec.Name, "-T"}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("firewall: %s: pfctl -T %s: %w: %s", p.spec, args[0], err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}

func (p *pfTable) Check() error {
	if err := p.run("show"); err != nil {
		return fmt.Errorf("%w (%w: add \"table <%s> persist\" to pf.conf)", err, ErrNoSet, p.spec.Name)
	}
	return nil
}

func (p *pfTable) Add(addr netip.Addr, d time.Duration) (bool, error) {
	a := addr.Unmap().String()
	if err := p.run("add", a); err != nil {
		return false, err
	}
	// An address already there keeps its old statistics: clearing them
	// restarts its time for Expire.
	return true, p.run("zero", a)
}

func (p *pfTable) Expire(maxAge time.Duration) error {
	return p.run("expire", strconv.FormatInt(int64(maxAge/time.Second), 10))
}
