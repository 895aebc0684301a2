package remote

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Target
		bad  bool
	}{
		{name: "host", in: "ssh://example.org", want: Target{URL: "ssh://example.org", Host: "example.org"}},
		{name: "user and port", in: "ssh://deploy@10.0.0.1:2222", want: Target{URL: "ssh://deploy@10.0.0.1:2222", User: "deploy", Host: "10.0.0.1", Port: 2222}},
		{name: "ipv6", in: "ssh://[::1]:22", want: Target{URL: "ssh://[::1]:22", Host: "::1", Port: 22}},
		{name: "not ssh", in: "tcp://h", bad: true},
		{name: "no host", in: "ssh://", bad: true},
		{name: "path", in: "ssh://h/x", bad: true},
		{name: "password", in: "ssh://u:p@h", bad: true},
		{name: "option injection", in: "ssh://-oProxyCommand=x", bad: true},
		{name: "bad port", in: "ssh://h:99999", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTarget(tt.in)
			if tt.bad {
				if !errors.Is(err, ErrBadHost) {
					t.Fatalf("ParseTarget(%q) = %+v, %v; want ErrBadHost", tt.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Fatalf("ParseTarget(%q) (-want +got):\n%s", tt.in, d)
			}
		})
	}
}

// Stderr texts as OpenSSH 9.2 prints them.
func TestClassify(t *testing.T) {
	tg := Target{URL: "ssh://h", Host: "h"}
	tests := []struct {
		name   string
		code   int
		stderr string
		want   error
	}{
		{"refused", 255, "ssh: connect to host h port 22: Connection refused\r\n", ErrUnreachable},
		{"no name", 255, "ssh: Could not resolve hostname h: Name or service not known\r\n", ErrUnreachable},
		{"auth", 255, "root@h: Permission denied (publickey).\r\n", ErrAuth},
		{"changed", 255, "@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n...\nHost key verification failed.\n", ErrHostKey},
		{"unknown key", 255, "Host key verification failed.\r\n", ErrHostKey},
		{"no berth", 127, "bash: line 1: berth: command not found\n", ErrNoBerth},
		{"no berth dash", 127, "sh: 1: berth: not found\n", ErrNoBerth},
		{"old berth", 2, "berth: unknown command \"dial-stdio\" for \"berth\"\n", ErrOldBerth},
		{"no daemon", 4, "berth: no berth daemon answers on /var/lib/berth/run/berth.sock\n", ErrNoDaemon},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := classify(tg, tt.code, tt.stderr); !errors.Is(err, tt.want) {
				t.Fatalf("classify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestContextsFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "berth", "contexts.toml")
	c, err := LoadContexts(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Add("prod", "ssh://deploy@h"); err != nil {
		t.Fatal(err)
	}
	if err := c.Add("bad", "http://h"); err == nil {
		t.Fatal("a non-ssh host was accepted")
	}
	if err := c.Use("prod"); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("contexts.toml: %v %v, want 0600", err, fi.Mode())
	}
	c2, err := LoadContexts(p)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Active() != "ssh://deploy@h" {
		t.Fatalf("active = %q after reload", c2.Active())
	}
	if err := c2.Remove("prod"); err != nil || c2.Active() != "" {
		t.Fatalf("remove: %v, active %q", err, c2.Active())
	}
	if err := os.WriteFile(p, []byte("current = 1\n[contexts.x]\nhost = \"ssh://h\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadContexts(p); err == nil {
		t.Fatal("a bad file was accepted")
	}
}
