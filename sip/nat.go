package sip

import "github.com/emiago/sipgo/sip"

// NAT traversal for callers (trunks[].inbound.nat).
//
// RFC 3581 (rport) is sipgo's: a request whose top Via has an empty rport
// is answered at its source address and port, with received and rport
// filled in the response's Via. A trunk with inbound.nat goes further for
// the legs of its callers (symmetric signalling, as a phone behind NAT
// needs): the switch's in-dialog requests go to the source address of the
// caller's INVITE (or of its latest target refresh) instead of its Contact,
// which behind NAT is a private address, and every response goes back to
// the source address of its request even without rport.

// behindNAT reports whether the trunk's callers are behind NAT.
func (t *Trunk) behindNAT() bool {
	return t.Config.Inbound != nil && t.Config.Inbound.NAT
}

// symmetricTx is a server transaction whose responses go to the source
// address of its request (IP and port), whatever the Via says.
type symmetricTx struct {
	sip.ServerTransaction
	source string
}

// symmetric wraps tx so that its responses go back to req's source.
func symmetric(tx sip.ServerTransaction, req *sip.Request) sip.ServerTransaction {
	if _, ok := tx.(symmetricTx); ok || req.Source() == "" {
		return tx
	}
	return symmetricTx{ServerTransaction: tx, source: req.Source()}
}

// Connection is the wrapped transaction's connection: a leg holds it while
// its dialog lives (doors.go), NAT or not.
func (tx symmetricTx) Connection() sip.Connection {
	if c, ok := tx.ServerTransaction.(interface{ Connection() sip.Connection }); ok {
		return c.Connection()
	}
	return nil
}

// Respond sends res to the request's source address.
func (tx symmetricTx) Respond(res *sip.Response) error {
	res.SetDestination(tx.source)
	return tx.ServerTransaction.Respond(res)
}
