package rendezvous

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/bob-p2p/bob/internal/wake"
)

// Open asks the relay on conn for a nameplate: the lowest free one if
// nameplate is empty, else that one. It returns the nameplate the relay
// assigned. Call [WaitPaired] next, once the code is shown.
func Open(ctx context.Context, conn net.Conn, nameplate, password string) (assigned string, err error) {
	err = withContext(ctx, conn, func() error {
		if err := writeHello(conn, Hello{Role: RoleSend, Nameplate: nameplate, Password: password}); err != nil {
			return err
		}
		r, err := readReply(conn)
		if err != nil {
			return err
		}
		if r.Paired {
			return fmt.Errorf("%w: relay reported a peer before assigning a nameplate", ErrMalformed)
		}
		if nameplate != "" && r.Nameplate != nameplate {
			return fmt.Errorf("%w: asked for nameplate %s, relay assigned %s", ErrMalformed, nameplate, r.Nameplate)
		}
		assigned = r.Nameplate
		return nil
	})
	return assigned, err
}

// WaitPaired waits until a receiver claims the nameplate [Open] assigned.
// When it returns nil, conn is a byte pipe to the receiver.
func WaitPaired(ctx context.Context, conn net.Conn) error {
	_, err := WaitPairedObserved(ctx, conn)
	return err
}

// WaitPairedObserved is [WaitPaired], and also returns where the relay saw
// this client (invalid if it did not say).
func WaitPairedObserved(ctx context.Context, conn net.Conn) (observed netip.AddrPort, err error) {
	err = withContext(ctx, conn, func() error {
		r, err := readReply(conn)
		if err != nil {
			return err
		}
		if !r.Paired {
			return fmt.Errorf("%w: expected the paired reply", ErrMalformed)
		}
		observed = r.Observed
		return nil
	})
	return observed, err
}

// Claim claims the nameplate a sender opened and returns once the two are
// paired: conn is then a byte pipe to the sender.
func Claim(ctx context.Context, conn net.Conn, nameplate, password string) error {
	_, err := ClaimObserved(ctx, conn, nameplate, password)
	return err
}

// ClaimObserved is [Claim], and also returns where the relay saw this
// client (invalid if it did not say).
func ClaimObserved(ctx context.Context, conn net.Conn, nameplate, password string) (observed netip.AddrPort, err error) {
	err = withContext(ctx, conn, func() error {
		if err := writeHello(conn, Hello{Role: RoleReceive, Nameplate: nameplate, Password: password}); err != nil {
			return err
		}
		r, err := readReply(conn)
		if err != nil {
			return err
		}
		if !r.Paired {
			return fmt.Errorf("%w: expected the paired reply", ErrMalformed)
		}
		observed = r.Observed
		return nil
	})
	return observed, err
}

func writeHello(conn net.Conn, h Hello) error {
	b, err := AppendHello(make([]byte, 0, headerLen+maxBody), h)
	if err != nil {
		return err
	}
	if _, err := conn.Write(b); err != nil {
		return fmt.Errorf("sending to the relay: %w", err)
	}
	return nil
}

// readReply reads one reply and turns an error reply into its error.
func readReply(conn net.Conn) (Reply, error) {
	r, err := ReadReply(conn)
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return Reply{}, errors.New("the relay closed the connection")
	case err != nil:
		return Reply{}, fmt.Errorf("reading the relay's reply: %w", err)
	case r.Err != nil:
		return Reply{}, r.Err
	}
	return r, nil
}

// withContext runs f with conn's deadline set from ctx, and interrupts it
// when ctx is cancelled. It leaves conn without a deadline.
func withContext(ctx context.Context, conn net.Conn, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	deadline, hasDeadline := ctx.Deadline()
	if hasDeadline {
		if err := conn.SetDeadline(deadline); err != nil {
			return err
		}
	}
	stop := wake.OnDone(ctx, conn.SetDeadline)
	err := f()
	stop()
	conn.SetDeadline(time.Time{}) //nolint:errcheck // a closed conn fails its next use anyway
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if hasDeadline && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(deadline) {
			return context.DeadlineExceeded
		}
	}
	return err
}
