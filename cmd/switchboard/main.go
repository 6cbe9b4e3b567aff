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

// versionLine is what `version` and `--version` print.
func versionLine() string { return "switchboard " + version }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "switchboard",
		Short: "Switchboard: a SIP/RTP softswitch for contact centers",
		Long: `Switchboard: a SIP/RTP softswitch for contact centers.

Exit status: 0 on success, 1 when a command fails (a configuration with
problems, a switch that cannot start or does not answer), 2 when the command
line itself is wrong (an unknown command or flag, a missing or malformed
flag value).`,
		Version:       version, // --version prints what `version` prints
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("switchboard {{.Version}}\n") // as versionLine
	root.AddCommand(serveCmd(), validateCmd(), versionCmd(), routeCmd(), reloadCmd(), agentsimCmd())
	strictCommands(root)
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
				return configError(cmd, err)
			}
			log := newLogger(cfg.Log, os.Stderr)
			logWarnings(log, cfg)
			tuneGC(log, os.Getenv)
			// sipgo logs through its own package-level logger: point it at ours
			// before any user agent exists (LIBRARY-NOTES 11).
			sipmsg.SetDefaultLogger(log.With("component", "sipgo"))
			ctx := context.Background()
			n, err := startNode(ctx, cfg, log)
			if err != nil {
				log.Error("start failed", "error", err)
				return err
			}
			log.Info("switchboard started", "node", cfg.Node.Name, "version", version, "config", file)
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
			defer signal.Stop(sig)
			for s := range sig {
				log.Info("signal received", "signal", s.String())
				if s == syscall.SIGHUP {
					_ = n.reload() // logged; the running configuration stays on failure
					continue
				}
				break
			}
			// The first SIGINT or SIGTERM drains; a second one during the
			// drain ends the calls at once (BYE); a third kills the process.
			drain, endNow := context.WithCancel(ctx)
			defer endNow()
			go func() {
				for {
					select {
					case <-drain.Done():
						return
					case s := <-sig:
						if s == syscall.SIGHUP {
							log.Info("signal ignored while draining", "signal", s.String())
							continue
						}
						signal.Stop(sig)
						log.Warn("second signal: ending calls now", "signal", s.String(), "calls", n.activeCalls.Load())
						endNow()
						return
					}
				}
			}()
			n.shutdown(drain)
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
				return configError(cmd, err)
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

// configError prints a configuration's problems, one FILE:LINE: KEY:
// problem line each, and returns err marked as reported; any other error (an
// unreadable file) is returned for run to print.
func configError(cmd *cobra.Command, err error) error {
	var ps config.Problems
	if !errors.As(err, &ps) {
		return err
	}
	for _, p := range ps {
		fmt.Fprintln(cmd.ErrOrStderr(), p.String())
	}
	return reportedError{err}
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), versionLine())
		},
	}
}
