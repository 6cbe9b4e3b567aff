package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-voice/switchboard/config"
)

// reloadCmd asks a running switch to re-read its configuration (as SIGHUP
// does) through its HTTP listener, and prints every problem if it refuses.
func reloadCmd() *cobra.Command {
	var file, addr string
	cmd := &cobra.Command{
		Use:   "reload",
		Short: "Make a running switch re-read its configuration file (new calls use it; calls in progress keep theirs)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if addr == "" {
				cfg, err := config.Load(file)
				if err != nil {
					return fmt.Errorf("read http.listen from %s: %w", file, err)
				}
				addr = cfg.HTTP.Listen
			}
			client := &http.Client{Timeout: 30 * time.Second}
			res, err := client.Post("http://"+addr+"/reload", "application/json", nil)
			if err != nil {
				var op *net.OpError
				if errors.As(err, &op) {
					err = op.Err // the address is named below
				}
				return fmt.Errorf("no switch answers at %s: %w (is it running, and is that its http.listen?)", addr, err)
			}
			defer res.Body.Close()
			var body struct {
				Status   string   `json:"status"`
				Problems []string `json:"problems"`
			}
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
				return fmt.Errorf("%s answered %s, not a switch's reload answer", addr, res.Status)
			}
			if res.StatusCode != http.StatusOK {
				for _, p := range body.Problems {
					fmt.Fprintln(cmd.ErrOrStderr(), p)
				}
				return fmt.Errorf("reload refused: the switch keeps its running configuration")
			}
			fmt.Fprintln(cmd.OutOrStdout(), "reloaded")
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "switchboard.yaml", "configuration file (for http.listen)")
	cmd.Flags().StringVar(&addr, "http", "", "the switch's HTTP listener host:port (default: http.listen of --config)")
	return cmd
}
