package spec

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHostsParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		toml string
		want Service
	}{{
		name: "hosts without listen",
		toml: "[service]\nhosts = [\"API.example.com\", \"www.example.com\"]\n",
		want: Service{Protocol: ProtocolHTTP, Hosts: []string{"API.example.com", "www.example.com"}},
	}, {
		name: "prefix and tls off",
		toml: "[service]\nlisten = \"127.0.0.1:8080\"\nhosts = [\"a.example.com\"]\npath_prefix = \"/api\"\ntls = \"off\"\n",
		want: Service{Listen: "127.0.0.1:8080", Protocol: ProtocolHTTP, Hosts: []string{"a.example.com"}, PathPrefix: "/api", TLS: TLS{Mode: TLSOff}},
	}, {
		name: "cert files",
		toml: "[service]\nhosts = [\"a.example.com\"]\ntls = { cert = \"/etc/a.crt\", key = \"/etc/a.key\" }\n",
		want: Service{Protocol: ProtocolHTTP, Hosts: []string{"a.example.com"}, TLS: TLS{Mode: TLSFile, Cert: "/etc/a.crt", Key: "/etc/a.key"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			app, err := Parse("berth.toml", []byte(minimal+tt.toml))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, *app.Service); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	s := Service{Hosts: []string{"A.example.com"}}
	if got := s.Routes(); len(got) != 1 || got[0] != (Route{"a.example.com", "/"}) {
		t.Errorf("Routes = %v", got)
	}
}

func TestHostsProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		toml string
		want []prob
	}{{
		name: "neither listen nor hosts",
		toml: "[service]\nprotocol = \"http\"\n",
		want: []prob{{5, 2, "service.listen", "or hosts = ["}},
	}, {
		name: "bad hosts",
		toml: "[service]\nhosts = [\"https://a.example.com\", \"*.example.com\", \"localhost\", \"b.example.com\", \"B.example.com\"]\n",
		want: []prob{
			{6, 10, "service.hosts[0]", "no scheme, port or path"},
			{6, 35, "service.hosts[1]", "wildcard"},
			{6, 52, "service.hosts[2]", "not a host name"},
			{6, 82, "service.hosts[4]", "listed twice"},
		},
	}, {
		name: "prefix, tls mode, tls files",
		toml: "[service]\nhosts = [\"a.example.com\"]\npath_prefix = \"api\"\ntls = \"on\"\n",
		want: []prob{
			{7, 15, "service.path_prefix", "starting with /"},
			{8, 7, "service.tls", `"on" is not a TLS mode`},
		},
	}, {
		name: "tls table without key, relative cert",
		toml: "[service]\nhosts = [\"a.example.com\"]\ntls = { cert = \"a.crt\" }\n",
		want: []prob{
			{7, 7, "service.tls", "missing key"},
			{7, 16, "service.tls.cert", "not absolute"},
		},
	}, {
		name: "tcp with hosts",
		toml: "[service]\nlisten = \":9000\"\nprotocol = \"tcp\"\nhosts = [\"a.example.com\"]\n",
		want: []prob{{8, 9, "service.hosts", "tcp service"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("berth.toml", []byte(minimal+tt.toml))
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse = %v; want *Errors", err)
			}
			var got []prob
			for i, p := range errs.Problems {
				msg := p.Msg
				if i < len(tt.want) && strings.Contains(p.Msg, tt.want[i].Msg) {
					msg = tt.want[i].Msg
				}
				got = append(got, prob{p.Line, p.Col, p.Key, msg})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s\nfull:\n%v", diff, err)
			}
		})
	}
}
