package bmc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The OpenIPMI character device ABI (linux/ipmi.h), 64-bit layout.
const (
	ipmiSystemInterfaceAddrType = 0x0c
	ipmiBMCChannel              = 0x0f
	ipmiResponseRecvType        = 1

	// _IOR('i', 13, struct ipmi_req) and _IOWR('i', 11, struct ipmi_recv).
	ipmictlSendCommand     = 0x8028690d
	ipmictlReceiveMsgTrunc = 0xc030690b
)

type ipmiSysAddr struct {
	addrType int32
	channel  int16
	lun      uint8
	_        uint8
}

type ipmiMsg struct {
	netfn   uint8
	cmd     uint8
	dataLen uint16
	_       uint32
	data    *byte
}

type ipmiReq struct {
	addr    *byte
	addrLen uint32
	_       uint32
	msgid   int64
	msg     ipmiMsg
}

type ipmiRecv struct {
	recvType int32
	_        uint32
	addr     *byte
	addrLen  uint32
	_        uint32
	msgid    int64
	msg      ipmiMsg
}

// Open is the kernel's IPMI device (normally /dev/ipmi0).
type Open struct {
	f     *os.File
	msgid atomic.Int64
}

// OpenDevice opens path (e.g. /dev/ipmi0).
func OpenDevice(path string) (*Open, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("IPMI device: %w", err)
	}
	return &Open{f: f}, nil
}

// Close closes the device.
func (o *Open) Close() error { return o.f.Close() }

// Send sends one request to the BMC and waits for its response (up to
// 5 s, or ctx).
func (o *Open) Send(ctx context.Context, netfn, cmd byte, data []byte) ([]byte, error) {
	var pin runtime.Pinner
	defer pin.Unpin()
	addr := &ipmiSysAddr{addrType: ipmiSystemInterfaceAddrType, channel: ipmiBMCChannel}
	pin.Pin(addr)
	req := &ipmiReq{addr: (*byte)(unsafe.Pointer(addr)), addrLen: uint32(unsafe.Sizeof(*addr)),
		msgid: o.msgid.Add(1), msg: ipmiMsg{netfn: netfn, cmd: cmd, dataLen: uint16(len(data))}}
	if len(data) > 0 {
		buf := append([]byte(nil), data...)
		pin.Pin(&buf[0])
		req.msg.data = &buf[0]
	}
	pin.Pin(req)
	fd := int(o.f.Fd())
	if err := ioctl(fd, ipmictlSendCommand, unsafe.Pointer(req)); err != nil {
		return nil, fmt.Errorf("IPMICTL_SEND_COMMAND: %w", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	resp := make([]byte, 256)
	pin.Pin(&resp[0])
	raddr := &ipmiSysAddr{}
	pin.Pin(raddr)
	for {
		wait := time.Until(deadline)
		if wait <= 0 || ctx.Err() != nil {
			return nil, fmt.Errorf("no response from the BMC: %w", context.DeadlineExceeded)
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, int(min(wait, 200*time.Millisecond)/time.Millisecond)+1)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return nil, fmt.Errorf("poll: %w", err)
		}
		if n <= 0 {
			continue
		}
		recv := &ipmiRecv{addr: (*byte)(unsafe.Pointer(raddr)), addrLen: uint32(unsafe.Sizeof(*raddr)),
			msg: ipmiMsg{dataLen: uint16(len(resp)), data: &resp[0]}}
		pin.Pin(recv)
		if err := ioctl(fd, ipmictlReceiveMsgTrunc, unsafe.Pointer(recv)); err != nil && !errors.Is(err, unix.EMSGSIZE) {
			return nil, fmt.Errorf("IPMICTL_RECEIVE_MSG_TRUNC: %w", err)
		}
		if recv.recvType != ipmiResponseRecvType || recv.msgid != req.msgid {
			continue // an event or a stale answer
		}
		return append([]byte(nil), resp[:recv.msg.dataLen]...), nil
	}
}

func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
	if e != 0 {
		return e
	}
	return nil
}
