package config

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFrontDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		toml string
		want Front
	}{{
		name: "no table: off",
		toml: "",
		want: Front{},
	}, {
		name: "empty table: 80 and 443, redirect",
		toml: "[front]\n",
		want: Front{HTTP: ":80", HTTPS: ":443", RedirectHTTP: true},
	}, {
		name: "acme with defaults",
		toml: "[front]\nhttp = \"127.0.0.1:8080\"\nredirect_http = false\n[front.acme]\nemail = \"ops@example.com\"\n",
		want: Front{HTTP: "127.0.0.1:8080", HTTPS: ":443", ACME: ACME{Email: "ops@example.com", Directory: DefaultACMEDirectory, Enabled: true}},
	}, {
		name: "plain only",
		toml: "[front]\nhttps = \"\"\n",
		want: Front{HTTP: ":80", RedirectHTTP: true},
	}, {
		name: "only the front's user: the door stays off",
		toml: "[front]\nuser = \"root\"\n",
		want: Front{User: "root", UserAt: "daemon.toml:2:8"},
	}, {
		name: "user with the door",
		toml: "[front]\nhttp = \"127.0.0.1:80\"\nuser = \"www-front\"\n",
		want: Front{HTTP: "127.0.0.1:80", HTTPS: ":443", RedirectHTTP: true, User: "www-front", UserAt: "daemon.toml:3:8"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := Parse("daemon.toml", []byte(tt.toml))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, d.Front); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFrontProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		toml string
		want []prob
	}{{
		name: "bad addresses",
		toml: "[front]\nhttp = \"80\"\nhttps = \"80\"\n",
		want: []prob{{2, 8, "front.http", "not a host:port address"}, {3, 9, "front.https", "not a host:port address"}},
	}, {
		name: "same port twice",
		toml: "[front]\nhttp = \":8080\"\nhttps = \":8080\"\n",
		want: []prob{{3, 9, "front.https", "is also front.http"}},
	}, {
		name: "acme without https, bad email, directory, root",
		toml: "[front]\nhttps = \"\"\n[front.acme]\nemail = \"ops\"\ndirectory = \"ftp://ca/\"\nca_root = \"root.pem\"\n",
		want: []prob{
			{2, 9, "front.https", "need the https listener"},
			{4, 9, "front.acme.email", "not an email address"},
			{5, 13, "front.acme.directory", `scheme "ftp"`},
			{6, 11, "front.acme.ca_root", "not absolute"},
		},
	}, {
		name: "bad user name",
		toml: "[front]\nuser = \"Front User\"\n",
		want: []prob{{2, 8, "front.user", "is not a user name"}},
	}, {
		name: "unknown key",
		toml: "[front]\nredirect = true\n",
		want: []prob{{2, 1, "front.redirect", "allowed here: http, https, redirect_http, acme"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("daemon.toml", []byte(tt.toml))
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse = %v; want *Errors", err)
			}
			var got []prob
			for i, p := range errs.Problems {
				g := prob{p.Line, p.Col, p.Key, p.Msg}
				if i < len(tt.want) && contains(p.Msg, tt.want[i].Msg) {
					g.Msg = tt.want[i].Msg
				}
				got = append(got, g)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s\nall:\n%v", diff, err)
			}
		})
	}
}
