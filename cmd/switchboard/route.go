package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/dialplan"
	"github.com/switchboard-voice/switchboard/sip"
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
			when := time.Now()
			if at != "" {
				var err error
				if when, err = time.Parse(time.RFC3339, at); err != nil {
					return usagef("--at %q: want a time such as 2026-12-25T10:00:00Z or 2026-12-25T10:00:00+01:00", at)
				}
			}
			cfg, err := config.LoadWith(file, dialplan.Check)
			if err != nil {
				return configError(cmd, err)
			}
			tc, err := inboundTrunk(cfg, trunk)
			if err != nil {
				return err
			}
			// The SIP edge decides first, as for a real INVITE: a number
			// the trunk does not serve never reaches the dialplan.
			t, err := sip.NewTrunk(tc)
			if err != nil {
				return err
			}
			req := dialplan.Request{Trunk: trunk, From: from, To: to, At: when}
			plan := dialplan.Plan{Request: req, Index: -1}
			if r := t.CheckNumber(to); r != nil {
				plan.Outcome = fmt.Sprintf("refused by the SIP edge: %d %s (%s)", r.Code, r.Status, r.Why)
			} else {
				plan = dialplan.New(cfg, nil, nil).Explain(req)
			}
			fmt.Fprint(cmd.OutOrStdout(), plan)
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

// inboundTrunk is the configuration of the trunk named name, which must
// take calls in; a usage error lists the trunks that do.
func inboundTrunk(cfg *config.Config, name string) (config.Trunk, error) {
	var names []string
	what := fmt.Sprintf("no trunk of that name in %s", cfg.File)
	for _, t := range cfg.Trunks {
		switch {
		case t.Name == name && t.Inbound != nil:
			return t, nil
		case t.Name == name:
			what = fmt.Sprintf("trunk %s in %s has no inbound section", name, cfg.File)
		case t.Inbound != nil:
			names = append(names, t.Name)
		}
	}
	if len(names) == 0 {
		return config.Trunk{}, usagef("--trunk %q: %s, and no trunk there has an inbound section", name, what)
	}
	return config.Trunk{}, usagef("--trunk %q: %s; the inbound trunks are %s", name, what, strings.Join(names, ", "))
}
