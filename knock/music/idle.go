package music

import (
	"errors"
	"io/fs"
	"os"
	"time"
)

// Tick does Music's periodic work; the daemon calls it about once a
// second, from the goroutine that calls Handle (or under the lock that
// orders the calls to Handle). It forgets the sources that have knocked
// nothing for PoolIdleTimeout, and logs how many refusals the log's cap
// per reason left out in an interval that has ended.
func (m *Music) Tick(now time.Time) {
	m.forgetIdle(now)
	m.refusals.flush(now)
}

// Resting reports whether Tick has nothing to do until the next Handle:
// no source to forget when idle, no refusal count to log. The daemon then
// stops ticking until the next knock.
func (m *Music) Resting() bool {
	return (m.idle <= 0 || m.shared || len(m.sources) == 0) && m.refusals.quiet()
}

// forgetIdle forgets every source idle for PoolIdleTimeout: its pitch,
// and its pool, which is deleted unplayed. A pool is a song being
// composed, and one nobody added to for that long is abandoned, or was
// knocked in by spoofed packets to hold a place under MaxPools; keeping
// it anywhere (played/, say) would only move the leak. Shared mode's pool
// is everybody's, as the original protocol's music.pool was, and stays.
func (m *Music) forgetIdle(now time.Time) {
	if m.idle <= 0 || m.shared {
		return
	}
	var forgotten, discarded, steps int
	for key, s := range m.sources {
		if now.Sub(s.touched) < m.idle {
			continue
		}
		delete(m.sources, key)
		forgotten++
		if s.pool == nil {
			m.log.Debug("music: idle source forgotten", "src", s.addr, "idle", now.Sub(s.touched))
			continue
		}
		n, err := m.discard(s.pool)
		if err != nil {
			m.log.Warn("music: cannot delete an idle source's pool", "src", s.addr, "path", s.pool.Path(), "err", err)
			continue
		}
		discarded++
		steps += n
		m.log.Debug("music: idle source forgotten, its pool deleted", "src", s.addr, "idle", now.Sub(s.touched), "steps", n)
	}
	if forgotten == 0 {
		return
	}
	m.pools.Store(int64(len(m.sources)))
	m.forgotten.Add(uint64(forgotten))
	m.discarded.Add(uint64(discarded))
	m.log.Info("music: forgot sources idle for [music] pool_idle_timeout; their pools were deleted unplayed",
		"sources", forgotten, "pools", discarded, "steps", steps, "pool_idle_timeout", m.idle)
}

// discard closes a pool and deletes its file, returning its step count.
// The fsync goroutine skips a pool marked closed.
func (m *Music) discard(p *pool) (steps int, err error) {
	steps = p.Len()
	p.closed.Store(true)
	cerr := p.Close()
	if err := os.Remove(p.Path()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return steps, errors.Join(err, cerr)
	}
	return steps, nil
}
