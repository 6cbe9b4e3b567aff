package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Exit codes: a failure (the command ran and something went wrong) and a
// usage error (the command line itself is wrong).
const (
	exitFailure = 1
	exitUsage   = 2
)

// usageError is a mistake in the command line: an unknown command or flag, a
// missing or malformed flag value, an unexpected argument. run prints it with
// a hint to --help and exits 2; any other error is a failure (exit 1).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef is a usageError with a formatted message.
func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// reportedError is a failure whose details the command has already printed
// (a configuration's problems as FILE:LINE lines): run adds nothing and exits 1.
type reportedError struct{ err error }

func (e reportedError) Error() string { return e.err.Error() }
func (e reportedError) Unwrap() error { return e.err }

// run executes the command line args and returns the process's exit code,
// printing an error as one line naming the command and the problem (and, for
// a usage error, a second line pointing to --help).
func run(args []string, stdout, stderr io.Writer) int {
	root := rootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteC()
	if cmd == nil {
		cmd = root
	}
	return report(stderr, cmd, err)
}

// report prints err for cmd (the command that ran or was being parsed) and
// classifies it into an exit code.
func report(w io.Writer, cmd *cobra.Command, err error) int {
	var usage usageError
	var reported reportedError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &reported):
		return exitFailure
	case errors.As(err, &usage):
		fmt.Fprintf(w, "%s: %v\n", cmd.CommandPath(), err)
		fmt.Fprintf(w, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return exitUsage
	default:
		fmt.Fprintf(w, "%s: %v\n", cmd.CommandPath(), err)
		return exitFailure
	}
}

// strictCommands makes every command under root (root included) report its
// command-line mistakes as usage errors, in one place: flag errors through
// the flag error function; positional arguments and required flags through
// each command's Args validator. A command with subcommands refuses an
// unknown one (with cobra's suggestions) and prints its help when given
// none; a command without subcommands takes no positional arguments unless
// it declares its own Args. Call it once the tree is built.
func strictCommands(root *cobra.Command) {
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c.HasSubCommands() {
			c.SuggestionsMinimumDistance = 2
			c.Args = subcommandArgs
			if c.Run == nil && c.RunE == nil {
				c.RunE = func(*cobra.Command, []string) error { return pflag.ErrHelp } // cobra prints the help
			}
			return
		}
		args := c.Args
		if args == nil {
			args = noArgs
		}
		c.Args = func(c *cobra.Command, a []string) error {
			if err := args(c, a); err != nil {
				return usageError{err}
			}
			if err := requiredFlags(c); err != nil {
				return err
			}
			if err := c.ValidateFlagGroups(); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	walk(root)
}

// subcommandArgs refuses an argument that names no subcommand of c.
func subcommandArgs(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q", args[0])
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", quotedOr(s))
	}
	return usageError{errors.New(msg)}
}

// noArgs refuses positional arguments.
func noArgs(c *cobra.Command, args []string) error {
	switch len(args) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("unexpected argument %q (%s takes only flags)", args[0], c.Name())
	default:
		return fmt.Errorf("unexpected arguments %q (%s takes only flags)", args, c.Name())
	}
}

// requiredFlags names the flags marked required (cobra.MarkFlagRequired)
// that the command line leaves out. It runs in the Args validator, before
// cobra's own check, so the mistake is a usage error.
func requiredFlags(c *cobra.Command) error {
	var missing []string
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if req := f.Annotations[cobra.BashCompOneRequiredFlag]; len(req) > 0 && req[0] == "true" && !f.Changed {
			missing = append(missing, "--"+f.Name)
		}
	})
	switch len(missing) {
	case 0:
		return nil
	case 1:
		return usagef("%s is required", missing[0])
	default:
		return usagef("%s are required", strings.Join(missing[:len(missing)-1], ", ")+" and "+missing[len(missing)-1])
	}
}

// quotedOr is "a", "a" or "b", "a", "b" or "c".
func quotedOr(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = fmt.Sprintf("%q", x)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
