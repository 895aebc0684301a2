package deploy

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/spec"
)

func TestHostClash(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mine   spec.Service
		theirs spec.Service
		want   string // substring of the error; "" = no clash
	}{
		{"same host", spec.Service{Hosts: []string{"a.example.com"}}, spec.Service{Hosts: []string{"b.example.com", "A.example.com"}}, "host a.example.com for web: app api already serves it"},
		{"same host and prefix", spec.Service{Hosts: []string{"a.example.com"}, PathPrefix: "/api"}, spec.Service{Hosts: []string{"a.example.com"}, PathPrefix: "/api"}, "a.example.com/api"},
		{"other prefix", spec.Service{Hosts: []string{"a.example.com"}, PathPrefix: "/api"}, spec.Service{Hosts: []string{"a.example.com"}}, ""},
		{"other host", spec.Service{Hosts: []string{"a.example.com"}}, spec.Service{Hosts: []string{"b.example.com"}}, ""},
		{"listen only", spec.Service{Listen: ":8080"}, spec.Service{Listen: ":9090"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := hostClash("web", &tt.mine, "api", &tt.theirs)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("clash = %v; want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("clash = %v; want one saying %q", err, tt.want)
			}
		})
	}
}
