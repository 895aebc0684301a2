package spec

import (
	"strings"
	"testing"
	"time"
)

func TestHeartbeatChecks(t *testing.T) {
	t.Parallel()
	base := "version = 1\nname = \"w\"\n[run]\ncommand = [\"./w\"]\n[[checks]]\nname = \"beat\"\ntype = \"heartbeat\"\n"
	tests := []struct {
		name   string
		extra  string
		errAt  string // "line:col: key" prefix of the problem; "" = valid
		errMsg string
	}{
		{name: "file", extra: "file = \"beat\"\n"},
		{name: "pattern", extra: "pattern = \"processed \\\\d+\"\nwithin = \"30s\"\n"},
		{name: "neither", extra: "", errAt: "7:8: checks[0].type", errMsg: "exactly one of"},
		{name: "both", extra: "file = \"b\"\npattern = \"x\"\n", errAt: "7:8: checks[0].type", errMsg: "exactly one of"},
		{name: "bad pattern", extra: "pattern = \"(\"\n", errAt: "8:11: checks[0].pattern", errMsg: "not a regular expression"},
		{name: "escaping file", extra: "file = \"../x\"\n", errAt: "8:8: checks[0].file", errMsg: "inside the app's shared directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app, err := Parse("berth.toml", []byte(base+tc.extra))
			if tc.errAt == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if tc.name == "file" {
					c := app.Checks[0]
					if c.Role != RoleLiveness || c.Within.Duration != time.Minute || c.Retries != 1 {
						t.Fatalf("defaults: role %s within %s retries %d", c.Role, c.Within, c.Retries)
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "berth.toml:"+tc.errAt) || !strings.Contains(err.Error(), tc.errMsg) {
				t.Fatalf("got %v, want a problem at %s: %s", err, tc.errAt, tc.errMsg)
			}
		})
	}
}
