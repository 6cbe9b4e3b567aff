package acd

import (
	"context"
	"fmt"
)

// CheckExternalNumber is a placeholder until the phone book lands: only
// valid E.164 numbers pass. TODO(merge): replaced by acd/contacts.go.
func (a *ACD) CheckExternalNumber(ctx context.Context, number string) error {
	if len(number) < 9 || number[0] != '+' {
		return fmt.Errorf("%w: %q is not an E.164 number", ErrInvalid, number)
	}
	return nil
}
