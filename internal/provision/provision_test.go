package provision

import (
	"strings"
	"testing"
)

func TestCheckEnvFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		keys    int
		wantErr string
	}{
		{"keys, comments and blanks", "# c\n; c\n\nA=1\nB='two words'\n C = 3\n", 3, ""},
		{"empty", "", 0, ""},
		{"export is not systemd syntax", "export A=1\n", 0, `:1: systemd's EnvironmentFile= has no "export"`},
		{"no equals", "A=1\nJUSTTEXT\n", 0, ":2: not KEY=VALUE"},
		{"bad name", "1A=x\n", 0, `:1: "1A" is not a valid variable name`},
		{"PORT is berth's", "PORT=80\n", 0, ":1: PORT is set by berth"},
		{"BERTH_ is berth's", "BERTH_COLOR=x\n", 0, ":1: BERTH_COLOR is set by berth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			keys, err := checkEnvFile("s.env", []byte(tt.in))
			if tt.wantErr == "" {
				if err != nil || keys != tt.keys {
					t.Errorf("checkEnvFile = %d, %v; want %d keys", keys, err, tt.keys)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("checkEnvFile error = %v; want one containing %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "=80") {
				t.Errorf("the error shows a value: %v", err)
			}
		})
	}
}

func TestLineDiff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, old, new, want string
	}{
		{"new file", "", "a\nb\n", "+ a\n+ b"},
		{"removed file", "a\n", "", "- a"},
		{"one line changed among many", "1\n2\n3\n4\n5\n6\nx\n7\n8\n9\n10\n11\n", "1\n2\n3\n4\n5\n6\ny\n7\n8\n9\n10\n11\n",
			"  …\n  6\n- x\n+ y\n  7\n  …"},
		{"same: nothing to show", "a\nb\n", "a\nb\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := lineDiff(tt.old, tt.new); got != tt.want {
				t.Errorf("lineDiff:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}
