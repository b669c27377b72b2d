package session

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/bob-p2p/bob/transfer/secure"
)

// recSwitch ends one direction of the channel over the relay: the records
// that follow it in that direction come on the adopted direct channel. Each
// direction switches on its own, at a record boundary, so no byte is lost
// or sent twice.
const recSwitch byte = 0xC3

// migrating is the transfer's channel when it starts on the relay while a
// direct path may still open: it carries records over the relay until the
// direct channel is adopted, then over that.
type migrating struct {
	relay     *secure.Conn
	relayConn net.Conn

	adoptedOnce sync.Once
	adopted     chan struct{} // closed when direct is set
	direct      *secure.Conn
	directConn  net.Conn

	wmu         sync.Mutex
	writer      *secure.Conn
	writeClosed bool

	rmu    sync.Mutex
	reader *secure.Conn

	mu            sync.Mutex
	readSwitched  bool
	writeSwitched bool
	relayReleased bool
}

func newMigrating(relay *secure.Conn, relayConn net.Conn) *migrating {
	return &migrating{relay: relay, relayConn: relayConn, writer: relay, reader: relay, adopted: make(chan struct{})}
}

// adopt sets the direct channel the peer's records will come on once it
// switches. Only the first call counts.
func (m *migrating) adopt(ch *secure.Conn, conn net.Conn) bool {
	first := false
	m.adoptedOnce.Do(func() {
		m.direct, m.directConn = ch, conn
		close(m.adopted)
		first = true
	})
	return first
}

// switchWrites sends recSwitch over the relay and sends every later record
// on the adopted channel. It does nothing once this side ended its stream.
func (m *migrating) switchWrites() (bool, error) {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	if m.writeClosed || m.writer != m.relay {
		return false, nil
	}
	select {
	case <-m.adopted:
	default:
		return false, errors.New("no direct channel adopted")
	}
	if err := m.relay.WriteRecord(recSwitch, nil); err != nil {
		return false, err
	}
	m.writer = m.direct
	m.switched(false)
	return true, nil
}

// switched notes one direction's switch; once both have, the relay has no
// more to carry and its connection is closed.
func (m *migrating) switched(read bool) {
	m.mu.Lock()
	if read {
		m.readSwitched = true
	} else {
		m.writeSwitched = true
	}
	release := m.readSwitched && m.writeSwitched && !m.relayReleased
	if release {
		m.relayReleased = true
	}
	m.mu.Unlock()
	if release {
		m.relayConn.Close()
	}
}

// isDirect says whether this side's records go over the direct channel.
func (m *migrating) isDirect() bool {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	return m.writer != m.relay
}

func (m *migrating) WriteRecord(typ byte, payload []byte) error {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	return m.writer.WriteRecord(typ, payload)
}

func (m *migrating) BufferRecord(typ byte, payload []byte) error {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	return m.writer.BufferRecord(typ, payload)
}

func (m *migrating) BufferPlainRecord(rec []byte) error {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	return m.writer.BufferPlainRecord(rec)
}

func (m *migrating) Flush() error {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	return m.writer.Flush()
}

func (m *migrating) CloseWrite() error {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	m.writeClosed = true
	return m.writer.CloseWrite()
}

// Close aborts both channels.
func (m *migrating) Close() error {
	err := m.relay.Close()
	select {
	case <-m.adopted:
		m.direct.Close()
	default:
	}
	return err
}

func (m *migrating) ReadRecord() (byte, []byte, error) {
	return m.read(func(c *secure.Conn) (byte, []byte, error) { return c.ReadRecord() })
}

func (m *migrating) ReadRecordInto(buf []byte) (byte, []byte, error) {
	return m.read(func(c *secure.Conn) (byte, []byte, error) { return c.ReadRecordInto(buf) })
}

// adoptTimeout bounds the wait for the direct channel after the peer said
// its records go there.
const adoptTimeout = decisionTimeout

func (m *migrating) read(next func(*secure.Conn) (byte, []byte, error)) (byte, []byte, error) {
	m.rmu.Lock()
	defer m.rmu.Unlock()
	for {
		typ, p, err := next(m.reader)
		if err != nil || typ != recSwitch || m.reader != m.relay {
			return typ, p, err
		}
		t := time.NewTimer(adoptTimeout)
		select {
		case <-m.adopted:
			t.Stop()
		case <-t.C:
			return 0, nil, fmt.Errorf("the peer moved to a direct connection this side does not have")
		}
		m.reader = m.direct
		m.switched(true)
	}
}
