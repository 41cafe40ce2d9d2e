package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"net/netip"
	"time"
)

// The lease log (LeaseLogName in the state directory) is an append-only
// file of lease changes, like Kea's memfile:
//
//	header  "DTLEASE1"
//	record  length uint16 LE | payload (length bytes) | CRC-32C of payload, uint32 LE
//	payload op byte (1 put, 2 delete) | MAC length byte | MAC bytes
//	        put only: IP length byte (4 or 16) | IP | expires int64 LE (Unix ns, 0 = unset)
//	        | network length uint16 LE | network
//
// Replaying the records in order gives the leases. A record that is cut
// short or fails its checksum ends the replay: what follows it is dropped
// (a crash can tear only the last record; the next compaction rewrites the
// file without the damage).

// LeaseLogName is the lease log inside the state directory.
const LeaseLogName = "leases.log"

const leaseLogMagic = "DTLEASE1"

const (
	opPut    = 1
	opDelete = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// leaseRec is one decoded record.
type leaseRec struct {
	mac     net.HardwareAddr
	deleted bool
	ip      netip.Addr
	expires int64
	network string
}

// appendLeaseRec encodes one record onto b. mac must be 1..255 bytes,
// network at most 65535-300 bytes (longer names are refused by the caller).
func appendLeaseRec(b []byte, mac net.HardwareAddr, deleted bool, ip netip.Addr, expires int64, network string) []byte {
	start := len(b)
	b = append(b, 0, 0) // length, filled below
	if deleted {
		b = append(b, opDelete, byte(len(mac)))
		b = append(b, mac...)
	} else {
		b = append(b, opPut, byte(len(mac)))
		b = append(b, mac...)
		if ip.Is4() {
			a := ip.As4()
			b = append(b, 4)
			b = append(b, a[:]...)
		} else {
			a := ip.As16()
			b = append(b, 16)
			b = append(b, a[:]...)
		}
		b = binary.LittleEndian.AppendUint64(b, uint64(expires))
		b = binary.LittleEndian.AppendUint16(b, uint16(len(network)))
		b = append(b, network...)
	}
	payload := b[start+2:]
	binary.LittleEndian.PutUint16(b[start:], uint16(len(payload)))
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(payload, castagnoli))
}

// maxLeaseNetwork bounds a network name in a record.
const maxLeaseNetwork = 1024

// errTorn marks a record cut short or failing its checksum.
var errTorn = errors.New("torn or corrupt record")

// parseLeaseLog replays data (a whole lease log) through apply. It returns
// how many bytes are good records (the header included); err says why the
// rest, if any, was not replayed. A file without the header is refused
// whole (good 0).
func parseLeaseLog(data []byte, apply func(leaseRec)) (good int, err error) {
	if len(data) < len(leaseLogMagic) || string(data[:len(leaseLogMagic)]) != leaseLogMagic {
		if len(data) == 0 {
			return 0, nil
		}
		return 0, errors.New("no lease log header")
	}
	off := len(leaseLogMagic)
	for off < len(data) {
		rec, n, err := parseLeaseRec(data[off:])
		if err != nil {
			return off, fmt.Errorf("record at byte %d: %w", off, err)
		}
		apply(rec)
		off += n
	}
	return off, nil
}

// parseLeaseRec decodes the record at the start of b and its total size.
func parseLeaseRec(b []byte) (leaseRec, int, error) {
	var r leaseRec
	if len(b) < 2 {
		return r, 0, errTorn
	}
	n := int(binary.LittleEndian.Uint16(b))
	if len(b) < 2+n+4 {
		return r, 0, errTorn
	}
	p := b[2 : 2+n]
	if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(b[2+n:]) {
		return r, 0, errTorn
	}
	size := 2 + n + 4
	bad := func(what string) (leaseRec, int, error) {
		return leaseRec{}, 0, fmt.Errorf("%w: %s", errTorn, what)
	}
	if len(p) < 2 {
		return bad("short payload")
	}
	op, ml := p[0], int(p[1])
	p = p[2:]
	if ml == 0 || len(p) < ml {
		return bad("mac length")
	}
	r.mac = net.HardwareAddr(append([]byte(nil), p[:ml]...))
	p = p[ml:]
	switch op {
	case opDelete:
		r.deleted = true
		if len(p) != 0 {
			return bad("trailing bytes")
		}
		return r, size, nil
	case opPut:
	default:
		return bad(fmt.Sprintf("op %d", op))
	}
	if len(p) < 1 {
		return bad("ip length")
	}
	il := int(p[0])
	p = p[1:]
	if (il != 4 && il != 16) || len(p) < il+8+2 {
		return bad("ip")
	}
	if il == 4 {
		r.ip = netip.AddrFrom4([4]byte(p[:4]))
	} else {
		r.ip = netip.AddrFrom16([16]byte(p[:16]))
	}
	p = p[il:]
	r.expires = int64(binary.LittleEndian.Uint64(p))
	nl := int(binary.LittleEndian.Uint16(p[8:]))
	p = p[10:]
	if nl > maxLeaseNetwork || len(p) != nl {
		return bad("network length")
	}
	r.network = string(p)
	return r, size, nil
}

// lease converts a put record to a Lease.
func (r leaseRec) lease() Lease {
	var exp time.Time
	if r.expires != 0 {
		exp = fromDB(r.expires)
	}
	return Lease{MAC: r.mac.String(), IP: r.ip, Network: r.network, Expires: exp}
}
