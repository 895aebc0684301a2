package deploy

import (
	"fmt"

	"github.com/berth-dev/berth/internal/spec"
)

// hostClash refuses app's service when another app already claims one of
// its front door routes (the same host under the same path prefix), naming
// that app, before anything of the deploy has started.
func hostClash(app string, svc *spec.Service, other string, o *spec.Service) error {
	for _, mine := range svc.Routes() {
		for _, theirs := range o.Routes() {
			if mine == theirs {
				return fmt.Errorf("serving host %s%s for %s: app %s already serves it; give one of them another host or path_prefix",
					mine.Host, trimRoot(mine.Prefix), app, other)
			}
		}
	}
	return nil
}

func trimRoot(prefix string) string {
	if prefix == "/" {
		return ""
	}
	return prefix
}
