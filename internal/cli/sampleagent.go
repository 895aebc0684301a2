package cli

import (
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/sampleagent"
)

func (a *app) sampleAgentCmd() *cobra.Command {
	c := &cobra.Command{
		Use:    "sample-agent",
		Short:  "A small HTTP agent for the demo and tests (env PORT, VERSION, MODE)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return sampleagent.Run(cmd.Context(), a.env.Stdout, a.env.Stderr)
		},
	}
	c.AddCommand(&cobra.Command{
		Use:   "selftest",
		Short: "Functional check: ask the agent on $PORT for real",
		Args:  cobra.NoArgs,
		RunE:  func(*cobra.Command, []string) error { return sampleagent.SelfTest() },
	})
	return c
}
