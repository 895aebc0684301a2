// Package keeper is the small process that owns berth's agents: their
// processes, process groups, cgroups, stdout/stderr pipes and log files. It
// outlives the daemon, so a daemon restart or crash loses no agent and no log
// line; a restarted daemon finds it again through its unix socket.
//
// One keeper serves a whole berth home (see docs/keeper-protocol.md for why
// and for the wire protocol). Serve is the keeper's main loop; Ensure and Dial
// give the daemon a Client, which implements runtime.Runtime.
package keeper
