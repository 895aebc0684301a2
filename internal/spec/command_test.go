package spec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRunArgv(t *testing.T) {
	env := []string{"PORT=4100", "BERTH_SHARED=/srv/x/shared", "MODE=a=b", "EMPTY="}
	tests := []struct {
		name    string
		cmd     []string
		shell   bool
		want    []string
		wantErr string
	}{
		{name: "no variables", cmd: []string{"./a", "-x"}, want: []string{"./a", "-x"}},
		{name: "braces", cmd: []string{"python3", "-m", "http.server", "${PORT}"}, want: []string{"python3", "-m", "http.server", "4100"}},
		{name: "bare name and suffix", cmd: []string{"--dir=$BERTH_SHARED/data", "${PORT}0"}, want: []string{"--dir=/srv/x/shared/data", "41000"}},
		{name: "value with =", cmd: []string{"$MODE"}, want: []string{"a=b"}},
		{name: "empty value", cmd: []string{"[${EMPTY}]"}, want: []string{"[]"}},
		{name: "dollar escape", cmd: []string{"$$PORT", "cost: 5$$"}, want: []string{"$PORT", "cost: 5$"}},
		{name: "unknown", cmd: []string{"${NOPE}"}, wantErr: "${NOPE} is not set"},
		{name: "unclosed", cmd: []string{"${PORT"}, wantErr: "no closing }"},
		{name: "bad name", cmd: []string{"${1X}"}, wantErr: "not a variable name"},
		{name: "dollar digit", cmd: []string{"$1"}, wantErr: "$1 is not a variable"},
		{name: "exec form of a shell left to it", cmd: []string{"sh", "-c", "echo $$ $0 $(date) ${PORT}", "x"},
			want: []string{"sh", "-c", "echo $$ $0 $(date) ${PORT}", "x"}},
		{name: "shell by path left to it", cmd: []string{"/usr/bin/bash", "-c", "exec x ${NOPE:-1}"},
			want: []string{"/usr/bin/bash", "-c", "exec x ${NOPE:-1}"}},
		{name: "not a shell", cmd: []string{"shasum", "$1"}, wantErr: "$1 is not a variable"},
		{name: "shell form left to the shell", cmd: []string{Shell, "-c", "exec x ${NOPE} $"}, shell: true,
			want: []string{Shell, "-c", "exec x ${NOPE} $"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Run{Command: tt.cmd, Shell: tt.shell}
			got, err := r.Argv(env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Argv = %q, %v; want error with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Argv (-want +got):\n%s", d)
			}
		})
	}
}

func TestShellFormParses(t *testing.T) {
	app, err := Parse("berth.toml", []byte("version = 1\nname = \"w\"\n[run]\ncommand = \"exec ./w --port $PORT | tee x\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Command{"/bin/sh", "-c", "exec ./w --port $PORT | tee x"}
	if d := cmp.Diff(want, app.Run.Command); d != "" || !app.Run.Shell {
		t.Errorf("command (-want +got):\n%s; shell = %v", d, app.Run.Shell)
	}
}
