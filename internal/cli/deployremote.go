package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/remote"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/state"
	"github.com/berth-dev/berth/internal/upload"
)

// hostOutcome is what one host of a fan-out deploy ended with.
type hostOutcome struct {
	t   remote.Target
	d   state.Deployment
	err error
	ran bool
}

// deployRemote uploads the release to each host in turn (only the
// contents it lacks) and deploys it there with the same progress and exit
// codes as locally, stopping at the first host that fails.
func (a *app) deployRemote(ctx context.Context, ts []remote.Target, app *spec.App, req api.DeployRequest) error {
	local, err := scanRelease(req)
	if err != nil {
		return usage("%v", err)
	}
	req.Source, req.Upload = "", &local.Manifest
	outcomes := make([]hostOutcome, len(ts))
	var failed error
	for i, t := range ts {
		outcomes[i].t = t
		if failed != nil {
			continue
		}
		outcomes[i].ran = true
		outcomes[i].d, outcomes[i].err = a.deployTo(ctx, t, app, req, local)
		failed = outcomes[i].err
	}
	if len(ts) > 1 {
		a.printHosts(outcomes)
	}
	return failed
}

// scanRelease describes the release to upload: the directory or archive
// given, else the spec's directory.
func scanRelease(req api.DeployRequest) (*upload.Local, error) {
	src := req.Source
	if src == "" {
		src = filepath.Dir(req.SpecFile)
	}
	info, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("reading release: %w", err)
	}
	if !info.IsDir() {
		return upload.ScanArchive(src)
	}
	return upload.ScanDir(src)
}

// deployTo uploads and deploys to one host.
func (a *app) deployTo(ctx context.Context, t remote.Target, app *spec.App, req api.DeployRequest, local *upload.Local) (state.Deployment, error) {
	cl := remoteClient(t)
	defer cl.Close()
	fmt.Fprintf(a.env.Stdout, "deploying %s with %s to %s\n", app.Name, app.Deploy.Strategy, t)
	start := time.Now()
	hashes := local.Manifest.Hashes()
	missing, err := cl.Missing(ctx, app.Name, hashes)
	if err == nil && len(missing) > 0 {
		var sent int64
		sent, err = cl.Upload(ctx, app.Name, local, missing)
		a.printUpload(len(missing), len(hashes), sent, local, time.Since(start))
	} else if err == nil {
		a.printUpload(0, len(hashes), 0, local, time.Since(start))
	}
	if err != nil {
		if ierr := a.interruptedOn(ctx, err, false, "deploy", app.Name, t); ierr != nil {
			return state.Deployment{}, ierr
		}
		return state.Deployment{}, err
	}
	p := newPrinter(a.env.Stdout)
	d, err := cl.Deploy(ctx, req, p.seen)
	if ierr := a.interruptedOn(ctx, err, p.lines > 0, "deploy", app.Name, t); ierr != nil {
		return d, ierr
	}
	p.result(d, err)
	return d, err
}

// printUpload says what went over the wire: the figures the docs quote.
func (a *app) printUpload(sentObjects, objects int, sent int64, local *upload.Local, took time.Duration) {
	total := local.Manifest.Size()
	if local.Manifest.Archive != "" {
		if info, err := os.Stat(local.Files[local.Manifest.Archive]); err == nil {
			total = info.Size()
		}
	}
	fmt.Fprintf(a.env.Stdout, "upload: %d of %d contents new, %d bytes sent (release %d bytes) in %s\n",
		sentObjects, objects, sent, total, round(took))
}

// printHosts ends a fan-out: which host runs which release now.
func (a *app) printHosts(outs []hostOutcome) {
	fmt.Fprintln(a.env.Stdout, "hosts:")
	for _, o := range outs {
		switch {
		case !o.ran:
			fmt.Fprintf(a.env.Stdout, "  %s: not deployed (an earlier host failed); its release is unchanged\n", o.t)
		case o.err == nil:
			fmt.Fprintf(a.env.Stdout, "  %s: release %s live\n", o.t, o.d.Release)
		case o.d.FromRelease != "":
			fmt.Fprintf(a.env.Stdout, "  %s: FAILED; release %s still live\n", o.t, o.d.FromRelease)
		default:
			fmt.Fprintf(a.env.Stdout, "  %s: FAILED: %v\n", o.t, o.err)
		}
	}
}
