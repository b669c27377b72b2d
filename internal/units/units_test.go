package units

import (
	"math"
	"strings"
	"testing"
)

func TestSI(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Size(20 << 20), "21 MB"},
		{Size(5 << 20), "5.2 MB"},
		{Size(999), "999 B"},
		{Size(1_000), "1.0 kB"},
		{Size(2_100_000_000), "2.1 GB"},
		{Size(-1), "unknown size"},
		{Rate(648_000_000), "648 MB/s"},
		{Rate(0), "– B/s"},
		{Rate(math.NaN()), "– B/s"},
	} {
		if c.got != c.want || strings.Contains(c.got, "iB") {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
