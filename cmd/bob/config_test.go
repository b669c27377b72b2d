package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func configEnv(t *testing.T, body string) *env {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "bob"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bob", "config.json"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"XDG_CONFIG_HOME": dir}
	return &env{getenv: func(k string) string { return vars[k] }}
}

func TestConfigRejectsUnknownKeys(t *testing.T) {
	_, err := loadConfig(configEnv(t, `{"relay": "192.0.2.1:9009", "realy_password": "x"}`))
	if err == nil || !strings.Contains(err.Error(), `unknown key "realy_password"`) || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("got %v", err)
	}
}

func TestConfigTurnsPathsOff(t *testing.T) {
	rc, err := chooseRelay(configEnv(t, `{"discovery": false, "direct": false}`), "", "", pathFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if !rc.noDiscovery || !rc.noDirect || !rc.embedded {
		t.Errorf("got %+v", rc)
	}
	rc, err = chooseRelay(configEnv(t, `{"discovery": true}`), "", "", pathFlags{noDirect: true})
	if err != nil {
		t.Fatal(err)
	}
	if rc.noDiscovery || !rc.noDirect {
		t.Errorf("got %+v", rc)
	}
}
