package tomlconf

import "testing"

func TestSuggest(t *testing.T) {
	t.Parallel()
	known := []string{"command", "env", "user", "stop_timeout", "restart", "runtime"}
	tests := []struct{ name, in, want string }{
		{name: "one letter missing", in: "stop_timout", want: `did you mean "stop_timeout"?`},
		{name: "swapped letters", in: "comamnd", want: `did you mean "command"?`},
		{name: "upper case", in: "ENV", want: `did you mean "env"?`},
		{name: "nothing close", in: "zzzzzzzz", want: "allowed here: command, env, user, stop_timeout, restart, runtime"},
	}
	for _, tt := range tests {
		if got := Suggest(tt.in, known); got != tt.want {
			t.Errorf("%s: suggest(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}
