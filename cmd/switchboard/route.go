package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/dialplan"
)

// routeCmd groups routing tools: `switchboard route test`.
func routeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "route",
		Short: "Routing tools",
	}
	cmd.AddCommand(routeTestCmd())
	return cmd
}

// routeTestCmd prints what the dialplan would do with a call, without
// placing it.
func routeTestCmd() *cobra.Command {
	var file, trunk, from, to, at string
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Print the route a call would match and the steps its flow would take, without placing a call",
		Example: "  switchboard route test --config switchboard.yaml --trunk carrier --from +447700900123 --to +442071234567\n" +
			"  switchboard route test -c switchboard.yaml --trunk carrier --to +15550100 --at 2026-12-25T10:00:00Z",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.LoadWith(file, dialplan.Check)
			if err != nil {
				printConfigError(cmd, err)
				return err
			}
			when := time.Now()
			if at != "" {
				if when, err = time.Parse(time.RFC3339, at); err != nil {
					return fmt.Errorf("--at %q: want a time such as 2026-12-25T10:00:00Z or 2026-12-25T10:00:00+01:00", at)
				}
			}
			if !hasInboundTrunk(cfg, trunk) {
				return fmt.Errorf("--trunk %q: no trunk of that name with an inbound section in %s", trunk, file)
			}
			e := dialplan.New(cfg, nil, nil)
			fmt.Fprint(cmd.OutOrStdout(), e.Explain(dialplan.Request{Trunk: trunk, From: from, To: to, At: when}))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "config", "c", "switchboard.yaml", "configuration file (YAML)")
	f.StringVar(&trunk, "trunk", "", "inbound trunk the call comes from (required)")
	f.StringVar(&from, "from", "", "caller's number")
	f.StringVar(&to, "to", "", "called number (required)")
	f.StringVar(&at, "at", "", "time of the call, RFC 3339 (default: now)")
	_ = cmd.MarkFlagRequired("trunk")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

func hasInboundTrunk(cfg *config.Config, name string) bool {
	for _, t := range cfg.Trunks {
		if t.Name == name && t.Inbound != nil {
			return true
		}
	}
	return false
}
