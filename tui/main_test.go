package tui

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// teatestSignalWatcher is teatest's goroutine that waits for SIGINT for the
// rest of the test binary's life; it is teatest's, not ours.
var teatestSignalWatcher = goleak.IgnoreAnyFunction("github.com/charmbracelet/x/exp/teatest.NewTestModel.func2")

func TestMain(m *testing.M) {
	// Golden files have no colour, whatever terminal runs the tests: the
	// views pick their colour profile from the environment and the output.
	os.Setenv("NO_COLOR", "1")
	os.Unsetenv("CLICOLOR_FORCE")
	goleak.VerifyTestMain(m, teatestSignalWatcher)
}

// syncBuffer is an output the program and the test can use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls out until it contains want. It waits for the program's
// goroutines to draw, not for time to pass: the deadline only ends a hang.
func waitFor(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output never showed %q; it was:\n%s", want, out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock           { return &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }
