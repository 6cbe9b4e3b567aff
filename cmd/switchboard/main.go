// Command switchboard is the Switchboard softswitch: one binary that serves
// calls, validates configuration and prints its version.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/spf13/cobra"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/dialplan"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if err := rootCmd().Execute(); err != nil {
		os.Exit(1)
	}
}

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "switchboard",
		Short:         "Switchboard: a SIP/RTP softswitch for contact centers",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serveCmd(), validateCmd(), versionCmd(), routeCmd(), reloadCmd(), agentsimCmd())
	return root
}

func serveCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the switch",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.LoadWith(file, dialplan.Check)
			if err != nil {
				printConfigError(cmd, err)
				return err
			}
			log := newLogger(cfg.Log, os.Stderr)
			logWarnings(log, cfg)
			// sipgo logs through its own package-level logger: point it at ours
			// before any user agent exists (LIBRARY-NOTES 11).
			sipmsg.SetDefaultLogger(log.With("component", "sipgo"))
			ctx := context.Background()
			n, err := startNode(ctx, cfg, log)
			if err != nil {
				log.Error("start failed", "error", err)
				fmt.Fprintln(cmd.ErrOrStderr(), "switchboard:", err)
				return err
			}
			log.Info("switchboard started", "node", cfg.Node.Name, "version", version, "config", file)
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
			for s := range sig {
				log.Info("signal received", "signal", s.String())
				if s == syscall.SIGHUP {
					_ = n.reload() // logged; the running configuration stays on failure
					continue
				}
				break
			}
			signal.Reset(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
			n.shutdown(ctx)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "switchboard.yaml", "configuration file (YAML)")
	return cmd
}

func validateCmd() *cobra.Command {
	var file string
	var print bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check a configuration file and list every problem as FILE:LINE: KEY: problem",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.LoadWith(file, dialplan.Check)
			if err != nil {
				printConfigError(cmd, err)
				return err
			}
			for _, w := range cfg.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), w.String())
			}
			if print {
				return config.Print(cmd.OutOrStdout(), cfg)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: OK\n", file)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "switchboard.yaml", "configuration file (YAML)")
	cmd.Flags().BoolVar(&print, "print", false, "print the effective configuration with defaults (secrets masked)")
	return cmd
}

// logWarnings logs what the configuration may have wrong (config.Config's
// Warnings), one line each.
func logWarnings(log *slog.Logger, cfg *config.Config) {
	for _, w := range cfg.Warnings {
		log.Warn("configuration warning", "warning", w.String())
	}
}

func printConfigError(cmd *cobra.Command, err error) {
	var ps config.Problems
	if errors.As(err, &ps) {
		for _, p := range ps {
			fmt.Fprintln(cmd.ErrOrStderr(), p.String())
		}
		return
	}
	fmt.Fprintln(cmd.ErrOrStderr(), "switchboard:", err)
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "switchboard", version)
		},
	}
}
