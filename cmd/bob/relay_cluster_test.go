package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRelayClusterFlagsRefuseBadSetups: joining a cluster needs a node
// address and a long enough secret, and the cluster flags mean nothing
// without --cluster; each mistake is a usage error that says what is wrong.
func TestRelayClusterFlagsRefuseBadSetups(t *testing.T) {
	short := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(short, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"--cluster", "nats://127.0.0.1:1"}, "a long enough cluster secret", "--node-addr"},
		{[]string{"--cluster", "nats://127.0.0.1:1", "--node-addr", "127.0.0.1:0"}, "", "secret of at least 16 bytes"},
		{[]string{"--cluster", "nats://127.0.0.1:1", "--node-addr", "127.0.0.1:0", "--cluster-secret-file", short}, "a long enough cluster secret", "secret of at least 16 bytes"},
		{[]string{"--node-addr", "127.0.0.1:0"}, "", "need --cluster"},
	} {
		e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard,
			getenv: func(k string) string {
				if k == "BOB_CLUSTER_SECRET" {
					return tc.env
				}
				return ""
			}}
		root := newRootCmd(e)
		root.SetArgs(append([]string{"relay", "--listen", "127.0.0.1:0"}, tc.args...))
		err := root.ExecuteContext(context.Background())
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("bob relay %v: %v, want a usage error about %q", tc.args, err, tc.want)
		}
	}
}
