package media_test

import (
	"fmt"
	"log"
	"net"
	"net/netip"
	"time"

	"github.com/switchboard-voice/switchboard/media"
)

// Two legs of a call, joined by a Relay: what the caller sends to the
// switch's address in its SDP reaches the agent, and back.
func ExampleRelay() {
	stats := new(media.Stats)
	alloc, err := media.NewPortAllocator(media.PortAllocatorOptions{
		IP: netip.MustParseAddr("127.0.0.1"), Min: 26000, Max: 26099, Stats: stats,
	})
	if err != nil {
		log.Fatal(err)
	}
	caller, agent := listen(), listen()
	defer caller.Close()
	defer agent.Close()

	legA, err := alloc.Open() // its address goes into the caller's SDP answer
	if err != nil {
		log.Fatal(err)
	}
	defer legA.Close()
	legB, err := alloc.Open() // its address goes into the agent's SDP offer
	if err != nil {
		log.Fatal(err)
	}
	defer legB.Close()
	legA.SetRemote(caller.LocalAddr().(*net.UDPAddr).AddrPort()) // from the caller's SDP
	legB.SetRemote(agent.LocalAddr().(*net.UDPAddr).AddrPort())  // from the agent's SDP

	relay := media.NewRelay(legA, legB)
	defer relay.Stop()
	relay.SetPayloadTypeMap(media.AToB, 101, 96) // telephone-event numbers differ

	// An RTP packet: V=2, PT 101, seq 1, timestamp 160, SSRC 1, payload "DTMF".
	pkt := []byte{0x80, 101, 0, 1, 0, 0, 0, 160, 0, 0, 0, 1, 'D', 'T', 'M', 'F'}
	caller.WriteToUDPAddrPort(pkt, legA.LocalAddr())

	buf := make([]byte, 1500)
	agent.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, from, err := agent.ReadFromUDPAddrPort(buf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("agent got PT %d %q from leg B: %v\n", buf[1]&0x7f, buf[12:n], from == legB.LocalAddr())

	// Close waits for the reader goroutines, so the counters are final.
	legA.Close()
	legB.Close()
	fmt.Println("relayed:", stats.Snapshot().PacketsRelayed, "in use:", alloc.InUse())
	// Output:
	// agent got PT 96 "DTMF" from leg B: true
	// relayed: 1 in use: 0
}

func listen() *net.UDPConn {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		log.Fatal(err)
	}
	return c
}
