package systemd

import (
	"errors"
	"testing"
	"time"
)

func TestExecArg(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"plain", "--port", "--port"},
		{"specifier", "50%", "50%%"},
		{"our own specifier is the user's text", "%i", "%%i"},
		{"variable", "$HOME", "$$HOME"},
		{"braced variable", "${X}", "$${X}"},
		{"space", "a b", `"a b"`},
		{"empty", "", `""`},
		{"double quote", `say "hi"`, `"say \"hi\""`},
		{"single quote", "it's", `"it's"`},
		{"backslash", `a\b`, `"a\\b"`},
		{"semicolon", ";", `";"`},
		{"tab", "a\tb", `"a\tb"`},
		{"control byte", "a\x1bb", `"a\x1bb"`},
		{"utf-8", "naïve", `"naïve"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ExecArg(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("ExecArg(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"a\nb", "a\x00b", "a\rb"} {
		if _, err := ExecArg(bad); !errors.Is(err, ErrUnrepresentable) {
			t.Errorf("ExecArg(%q) error = %v; want ErrUnrepresentable", bad, err)
		}
	}
}

func TestEnvironmentAssignment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, key, value, want string
	}{
		{"plain", "MODE", "good", "MODE=good"},
		{"space and percent", "MSG", "100% sure", `"MSG=100%% sure"`},
		{"dollar is not expanded by Environment=", "P", "$HOME", "P=$HOME"},
		{"quote", "Q", `a"b`, `"Q=a\"b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := EnvironmentAssignment(tt.key, tt.value)
			if err != nil || got != tt.want {
				t.Errorf("EnvironmentAssignment(%q, %q) = %q, %v; want %q", tt.key, tt.value, got, err, tt.want)
			}
		})
	}
	if _, err := EnvironmentAssignment("K", "a\nb"); !errors.Is(err, ErrUnrepresentable) {
		t.Errorf("newline accepted: %v", err)
	}
}

func TestEnvFileLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, key, value, want string
	}{
		{"plain", "PORT", "9001", "PORT='9001'"},
		{"specials stay literal in single quotes", "X", `$HOME "q" \ % ;`, `X='$HOME "q" \ % ;'`},
		{"single quote switches to double quotes", "Y", "it's $x `y` \\ \"z\"", `Y="it's \$x \` + "`y\\`" + ` \\ \"z\""`},
		{"empty", "E", "", "E=''"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := EnvFileLine(tt.key, tt.value)
			if err != nil || got != tt.want {
				t.Errorf("EnvFileLine(%q, %q) = %q, %v; want %q", tt.key, tt.value, got, err, tt.want)
			}
		})
	}
	if _, err := EnvFileLine("K", "a\nb"); !errors.Is(err, ErrUnrepresentable) {
		t.Errorf("newline accepted: %v", err)
	}
}

func TestTimespan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   time.Duration
		want string
	}{
		{"seconds", 10 * time.Second, "10s"},
		{"minutes stay seconds", 90 * time.Second, "90s"},
		{"milliseconds", 1500 * time.Millisecond, "1500ms"},
		{"rounded up, never shortened", 1500*time.Millisecond + 1, "1501ms"},
	}
	for _, tt := range tests {
		if got := timespan(tt.in); got != tt.want {
			t.Errorf("%s: timespan(%v) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}
