package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-voice/switchboard/gateway/agent"
)

// agentsimCmd runs simulated agents against a switch: each logs in through
// WHIP and the events socket, goes Available, answers its calls, talks (a
// tone), hangs up and wraps up — for demos and load tests.
func agentsimCmd() *cobra.Command {
	var (
		base, key, queue string
		logins           []string
		n, complexity    int
		answerAfter      time.Duration
		talk, runFor     time.Duration
		statsEvery       time.Duration
		toneHz           float64
		loopback, clear  bool
	)
	cmd := &cobra.Command{
		Use:   "agentsim",
		Short: "Run simulated WebRTC agents that answer calls (demos, load tests)",
		Long: `Runs simulated agents against a running switch. Agents are either existing ones
(--agent ID:TOKEN, repeated) or, with a supervisor API key (--key), N agents created in
--queue for the run and deleted afterwards. Each agent sends a tone while on a call.
On exit it prints the calls handled, the answer-to-audio delay (answer request to
the caller's first audio at the agent) and the switch's RTP the agents received and
lost (gaps in its sequence numbers, over the whole run). With --stats-every D it also
prints the running counts every D, with the time (Unix seconds), for load tests that
measure over a window:
  agentsim: stats at 1767225600.123 offered O answered A completed C failed F received N lost M`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			type login struct{ id, token string }
			var agents []login
			for _, l := range logins {
				id, token, ok := strings.Cut(l, ":")
				if !ok || id == "" || token == "" {
					return usagef("--agent %q: use ID:TOKEN", l)
				}
				agents = append(agents, login{id, token})
			}
			switch {
			case n < 0:
				return usagef("--agents %d: want a number of agents to create, at least 1", n)
			case n > 0 && key == "":
				return usagef("--agents %d needs a supervisor --key to create them (or give --agent ID:TOKEN)", n)
			case n == 0 && len(agents) == 0:
				return usagef("no agents: give --agents N with --key, or --agent ID:TOKEN")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if runFor > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, runFor)
				defer cancel()
			}
			base = strings.TrimRight(base, "/")
			sup := agent.NewAPI(base, key)
			if n > 0 {
				tag := randomHex(3)
				for i := range n {
					l := login{fmt.Sprintf("sim-%s-%03d", tag, i+1), randomHex(16)}
					if err := sup.Do(context.Background(), http.MethodPost, "/api/v1/agents", map[string]any{
						"id": l.id, "name": "Simulated " + l.id, "token": l.token, "queues": []string{queue}, "capacity": 100}, nil); err != nil {
						return fmt.Errorf("create agent %s: %w", l.id, err)
					}
					defer func() { _ = sup.Do(context.Background(), http.MethodDelete, "/api/v1/agents/"+l.id, nil, nil) }()
					agents = append(agents, l)
				}
			}
			st := &agent.SimStats{}
			b := agent.Behaviour{AnswerAfter: answerAfter, Talk: talk, ClearWrapUp: clear}
			var wg sync.WaitGroup
			errs := make(chan error, len(agents))
			for _, l := range agents {
				p := agent.NewPanel(base, l.id, l.token)
				m, err := agent.Connect(ctx, p.WHIP(), l.token, agent.Options{ToneHz: toneHz, LoopbackOnly: loopback, Complexity: complexity, SkipDecode: true})
				if err != nil {
					return fmt.Errorf("agent %s: %w", l.id, err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer m.Close()
					if err := agent.Simulate(ctx, p, m, b, st); err != nil {
						errs <- fmt.Errorf("agent %s: %w", l.id, err)
					}
					sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					_ = p.SetStatus(sctx, "offline")
				}()
			}
			fmt.Fprintf(cmd.OutOrStdout(), "agentsim: %d agents available at %s\n", len(agents), base)
			statsCtx, stopStats := context.WithCancel(ctx)
			statsDone := make(chan struct{})
			if statsEvery > 0 {
				go printStats(statsCtx, cmd.OutOrStdout(), st, statsEvery, statsDone)
			} else {
				close(statsDone)
			}
			wg.Wait()
			stopStats()
			<-statsDone
			close(errs)
			offered, answered, completed, failed := st.Counts()
			p50, p99, measured := st.AnswerToAudio()
			received, lost := st.RTP()
			fmt.Fprintf(cmd.OutOrStdout(), "agentsim: offered %d answered %d completed %d failed %d; answer-to-audio p50 %v p99 %v (%d measured); received %d lost %d (%.3f %%)\n",
				offered, answered, completed, failed, p50.Round(100*time.Microsecond), p99.Round(100*time.Microsecond), measured,
				received, lost, lossPercent(received, lost))
			var first error
			for err := range errs {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", cmd.CommandPath(), err)
				if first == nil {
					first = reportedError{err}
				}
			}
			return first
		},
	}
	f := cmd.Flags()
	f.StringVar(&base, "api", "http://127.0.0.1:8080", "the switch's HTTP address")
	f.StringVar(&key, "key", "", "supervisor API key, to create --agents")
	f.StringVar(&queue, "queue", "support", "queue the created agents join")
	f.StringArrayVar(&logins, "agent", nil, "an existing agent as ID:TOKEN (repeatable)")
	f.IntVar(&n, "agents", 0, "number of agents to create (needs --key)")
	f.DurationVar(&answerAfter, "answer-after", time.Second, "ring time before answering")
	f.DurationVar(&talk, "talk", 10*time.Second, "talk time before the agent hangs up (0: wait for the caller)")
	f.DurationVar(&runFor, "duration", 0, "stop after this long (0: until interrupted)")
	f.Float64Var(&toneHz, "tone", 1300, "frequency of the agents' tone (Hz)")
	f.BoolVar(&loopback, "loopback", true, "keep WebRTC on 127.0.0.1 (the switch must have gateway.loopback_only)")
	f.BoolVar(&clear, "clear-wrapup", false, "end each wrap-up at once instead of waiting it out")
	f.IntVar(&complexity, "complexity", 0, "Opus encoder complexity of the agents (0: default; load tests use 1)")
	f.DurationVar(&statsEvery, "stats-every", 0, "also print the running counts this often (0: only at the end)")
	return cmd
}

// printStats prints st's running counts every d until ctx ends, then
// closes done.
func printStats(ctx context.Context, w io.Writer, st *agent.SimStats, d time.Duration, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			offered, answered, completed, failed := st.Counts()
			received, lost := st.RTP()
			fmt.Fprintf(w, "agentsim: stats at %.3f offered %d answered %d completed %d failed %d received %d lost %d\n",
				float64(now.UnixNano())/1e9, offered, answered, completed, failed, received, lost)
		}
	}
}

// lossPercent is lost as a share of what was sent (received + lost).
func lossPercent(received, lost uint64) float64 {
	if received+lost == 0 {
		return 0
	}
	return 100 * float64(lost) / float64(received+lost)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
