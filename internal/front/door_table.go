package front

import (
	"cmp"
	"fmt"
	"strings"
)

// conflict refuses spec for app when another app's route holds its listen
// address or one of its hosts under the same path prefix, naming that
// app. Called under rs.mu.
func (rs *routes) conflict(app string, spec RouteSpec) error {
	mine := hostKeys(spec)
	for other, o := range rs.m {
		if other == app {
			continue
		}
		if spec.Listen != "" && o.state.Spec.Listen == spec.Listen {
			return fmt.Errorf("%w: %s is the listen address of app %s", ErrConflict, spec.Listen, other)
		}
		for k := range hostKeys(o.state.Spec) {
			if _, ok := mine[k]; ok {
				return fmt.Errorf("%w: host %s is served by app %s", ErrConflict, k, other)
			}
		}
	}
	return nil
}

// hostKeys returns spec's hosts joined with its path prefix, lower case.
func hostKeys(spec RouteSpec) map[string]struct{} {
	out := map[string]struct{}{}
	prefix := strings.TrimSuffix(cmp.Or(spec.PathPrefix, "/"), "/")
	for _, h := range spec.Hosts {
		out[strings.ToLower(h)+prefix] = struct{}{}
	}
	return out
}

// retableLocked rebuilds the front door's table from the routes. Called
// under rs.mu after every change of rs.m.
func (rs *routes) retableLocked() {
	rs.door.setTable(buildTable(rs.m, rs.door.current().ACME.Directory != ""))
}

// setDoor configures the front door and persists it with the routes.
func (rs *routes) setDoor(spec DoorSpec) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	err := rs.door.configure(spec, nil)
	rs.retableLocked()
	if serr := rs.saveLocked(); serr != nil {
		return serr
	}
	return err
}
