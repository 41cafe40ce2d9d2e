package dhcpd

import (
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/net/ipv4"
)

// ioBatch is how many packets a worker reads with one recvmmsg and answers
// with one sendmmsg. Under light load a read returns a single packet; a
// burst fills the batch and saves a system call per packet each way.
const ioBatch = 32

// worker reads, answers and sends until the socket is closed.
func (s *Server) worker() error {
	in := make([]ipv4.Message, ioBatch)
	oobLen := len(ipv4.NewControlMessage(ipv4.FlagInterface))
	for i := range in {
		in[i].Buffers = [][]byte{make([]byte, 4096)}
		in[i].OOB = make([]byte, oobLen)
	}
	replies := make([][]byte, ioBatch)
	for i := range replies {
		replies[i] = make([]byte, 0, 1500)
	}
	out := make([]ipv4.Message, 0, ioBatch)
	outBufs := make([][1][]byte, ioBatch)
	pkt := new(wirePacket)
	fails := 0
	for {
		for i := range in {
			in[i].OOB = in[i].OOB[:oobLen]
		}
		n, err := s.pc.ReadBatch(in, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			s.stats.errors.Add(1)
			if fails++; fails > 100 {
				return fmt.Errorf("dhcp read: %w", err)
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		fails = 0
		out = out[:0]
		for i := range n {
			m := &in[i]
			ifIndex := 0
			if m.NN > 0 {
				var cm ipv4.ControlMessage
				if cm.Parse(m.OOB[:m.NN]) == nil {
					ifIndex = cm.IfIndex
				}
			}
			reply, dst, err := s.handleWire(pkt, replies[i][:0], m.Buffers[0][:m.N], ifIndex)
			if err != nil {
				s.stats.errors.Add(1)
				s.log.Error("dhcp", "err", err)
			}
			if reply == nil {
				continue
			}
			if cap(reply) <= 4096 {
				replies[i] = reply[:0] // keep a grown buffer, not a huge one
			}
			k := len(out)
			outBufs[k][0] = reply
			om := ipv4.Message{Buffers: outBufs[k][:], Addr: dst}
			if dst.IP.Equal(net.IPv4bcast) && ifIndex != 0 {
				om.OOB = (&ipv4.ControlMessage{IfIndex: ifIndex}).Marshal()
			}
			out = append(out, om)
		}
		if err := s.send(out); err != nil {
			return nil // closed
		}
	}
}

// send writes replies with as few sendmmsg calls as possible; a reply that
// cannot be sent is counted, logged and skipped. It returns an error only
// when the socket is closed.
func (s *Server) send(out []ipv4.Message) error {
	for len(out) > 0 {
		k, err := s.pc.WriteBatch(out, 0)
		if err == nil && k > 0 {
			out = out[k:]
			continue
		}
		if errors.Is(err, net.ErrClosed) {
			return err
		}
		// out[k] failed (k may be 0 with an error for the first one).
		if k < len(out) {
			s.stats.errors.Add(1)
			s.log.Warn("dhcp send", "to", out[k].Addr.String(), "err", err)
			out = out[k+1:]
		} else {
			out = out[k:]
		}
	}
	return nil
}
