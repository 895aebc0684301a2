package front

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Door configures the front's front door (the shared http and https
// listeners of routes with hosts); the front persists it with the routes
// and serves it again when it restarts. Retried while the front restarts.
func (c *Client) Door(ctx context.Context, spec DoorSpec) error {
	req := request{Op: opDoor, Door: &spec}
	_, _, err := c.call(ctx, req, nil)
	for deadline := time.Now().Add(retryFor); errors.Is(err, errUnreachable) && time.Now().Before(deadline) && ctx.Err() == nil; {
		time.Sleep(50 * time.Millisecond)
		_, _, err = c.call(ctx, req, nil)
	}
	if err != nil {
		return fmt.Errorf("configuring the front door: %w", err)
	}
	return nil
}

// DoorStatus returns what the front door knows of each host: its apps,
// requests, errors and certificate.
func (c *Client) DoorStatus(ctx context.Context) ([]HostStatus, error) {
	rep, _, err := c.call(ctx, request{Op: opDoorStat}, nil)
	if err != nil {
		return nil, fmt.Errorf("reading the front door's status: %w", err)
	}
	return rep.Hosts, nil
}
