package logs

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var redactSecrets = map[string][]byte{
	"API_KEY": []byte("sk-live-0123456789"),
	"SHORT":   []byte("1234567"), // below MinRedacted: left alone
	"PEM":     []byte("-----BEGIN KEY-----\nAAAABBBBCCCCDDDD\r\nshort\n-----END KEY-----\n"),
	"INNER":   []byte("0123456789"), // inside API_KEY: the longer one wins
}

func TestRedact(t *testing.T) {
	t.Parallel()
	r := NewRedactor(redactSecrets)
	tests := []struct {
		name, in, want string
	}{
		{"none", "nothing secret here", "nothing secret here"},
		{"one", "key=sk-live-0123456789 ok", "key=[secret API_KEY] ok"},
		{"twice", "sk-live-0123456789sk-live-0123456789", "[secret API_KEY][secret API_KEY]"},
		{"inner alone", "n=0123456789", "n=[secret INNER]"},
		{"longer wins", "x sk-live-0123456789 y 0123456789", "x [secret API_KEY] y [secret INNER]"},
		{"short value kept", "pin 1234567", "pin 1234567"},
		{"pem line", "got AAAABBBBCCCCDDDD", "got [secret PEM]"},
		{"pem short line kept", "short", "short"},
		{"pem marker", "-----END KEY-----", "[secret PEM]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(r.Redact([]byte(tt.in), nil)); got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	if NewRedactor(map[string][]byte{"A": []byte("short")}) != nil {
		t.Error("a redactor with only short values should be nil")
	}
}

// TestCopyRedactsSplitWrites writes a secret in pieces across separate
// writes to a pipe, and in lines longer than MaxLine at every offset
// around the piece boundaries: no piece of the file holds the value.
func TestCopyRedactsSplitWrites(t *testing.T) {
	t.Parallel()
	const secret = "sk-live-0123456789"
	path := filepath.Join(t.TempDir(), "r.log")
	const maxLine = 64
	w, err := Open(path, Options{MaxLine: maxLine, Keep: -1})
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var tapped []string
	done := make(chan error)
	go func() {
		done <- CopyRedacted(w, Stdout, pr, NewRedactor(redactSecrets), func(b []byte) { tapped = append(tapped, string(b)) })
	}()
	var want []string
	for i := 1; i < len(secret); i++ { // one value split across two writes
		io.WriteString(pw, "split "+secret[:i])
		time.Sleep(time.Millisecond)
		io.WriteString(pw, secret[i:]+" end\nplain line\n")
		want = append(want, "split [secret API_KEY] end", "plain line")
	}
	for off := maxLine - len(secret) - 2; off < 3*maxLine; off++ { // long lines
		pad := strings.Repeat("x", off)
		io.WriteString(pw, pad+secret+pad+"\nplain "+pad+"\n")
		want = append(want, pad+"[secret API_KEY]"+pad, "plain "+pad)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	pr.Close()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), secret) {
		t.Fatal("the log file holds the secret")
	}
	if strings.Contains(strings.Join(tapped, ""), secret) {
		t.Error("the tap saw the secret")
	}
	got := only(readAll(t, path, Query{}), Stdout)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}
