package relay

import "testing"

func TestConnCap(t *testing.T) {
	for _, c := range []struct{ maxConns, limit, inUse, want int }{
		// The appliance before its fix: 4,096 descriptors, 8,192 conns.
		{8192, 4096, 10, (4096 - 10 - maxRejecting - fdReserve) / fdsPerConn},
		{8192, 1 << 20, 10, 8192},
		{-1, 1024, 0, (1024 - maxRejecting - fdReserve) / fdsPerConn},
		{100, 100, 50, 1}, // never below one
	} {
		if got := connCap(c.maxConns, c.limit, c.inUse); got != c.want {
			t.Errorf("connCap(%d, %d, %d) = %d, want %d", c.maxConns, c.limit, c.inUse, got, c.want)
		}
	}
	if fdsPerConn != 3 {
		t.Errorf("fdsPerConn = %d: a paired connection holds its socket and its direction's pipe, 3", fdsPerConn)
	}
}
