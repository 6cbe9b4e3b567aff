package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-voice/switchboard/config"
)

// reloadKeyEnv names the environment variable with the API key for
// `switchboard reload`.
const reloadKeyEnv = "SWITCHBOARD_API_KEY"

// reloadCmd asks a running switch to re-read its configuration (as SIGHUP
// does) through its HTTP listener, and prints every problem if it refuses.
func reloadCmd() *cobra.Command {
	var file, addr, key string
	cmd := &cobra.Command{
		Use:   "reload",
		Short: "Make a running switch re-read its configuration file (new calls use it; calls in progress keep theirs)",
		Long: "Make a running switch re-read its configuration file (new calls use it; calls in progress keep theirs).\n\n" +
			"POST /reload needs a supervisor's API key: --key, else $" + reloadKeyEnv + ", else the first of api.keys in --config.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if key == "" {
				key = os.Getenv(reloadKeyEnv)
			}
			if addr == "" || key == "" {
				// The file is needed for the address, or when named; else
				// the switch says whether it wants a key.
				acc, err := config.ReadAccess(file)
				switch {
				case err != nil && (addr == "" || cmd.Flags().Changed("config")):
					return fmt.Errorf("read http.listen and api.keys from %s: %w", file, err)
				case err == nil && addr == "":
					addr = acc.Listen
				}
				if key == "" {
					key = acc.Key
				}
			}
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost, "http://"+addr+"/reload", nil)
			if err != nil {
				return fmt.Errorf("--http %q: %w", addr, err)
			}
			if key != "" {
				req.Header.Set("Authorization", "Bearer "+key)
			}
			client := &http.Client{Timeout: 30 * time.Second}
			res, err := client.Do(req)
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
			if res.StatusCode == http.StatusUnauthorized {
				if key == "" {
					return fmt.Errorf("%s needs a supervisor's API key (401): give --key, $%s, or a --config with api.keys", addr, reloadKeyEnv)
				}
				return fmt.Errorf("%s refused the API key (401): give a key of its api.keys", addr)
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
	cmd.Flags().StringVar(&key, "key", "", "a supervisor's API key (default: $"+reloadKeyEnv+", else the first of api.keys in --config)")
	return cmd
}
