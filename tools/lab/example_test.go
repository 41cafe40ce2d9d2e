package lab_test

import (
	"context"
	"fmt"
	"time"

	"github.com/disklesstrap/disklesstrap/tools/lab"
)

// A lab test: bootsrv inside the namespace, one BIOS node PXE-booting from
// it, a marker on the node's console. (Compiled, not run: it needs root,
// QEMU and a bootsrv binary.)
func Example() {
	l, err := lab.New(nil, lab.Options{}) // in a test: lab.New(t, ...) and no Close
	if err != nil {
		panic(err)
	}
	defer l.Close()
	ctx := context.Background()
	srv := l.Exec(ctx, "/path/to/bootsrv", "--listen", l.BridgeAddr(0).String())
	if _, err := l.Start("bootsrv", srv); err != nil {
		panic(err)
	}
	if err := l.WaitListen(ctx, l.BridgeAddr(0).String()+":8080", 10*time.Second); err != nil {
		panic(err)
	}
	n, err := l.Boot(lab.NodeSpec{Name: "cn001", Firmware: lab.BIOS, MACs: []string{"52:54:00:00:00:01"}})
	if err != nil {
		panic(err)
	}
	if err := n.WaitConsole(ctx, "root@cn001_DisklessTrap", 2*time.Minute); err != nil {
		panic(err)
	}
	fmt.Printf("PXE to trap prompt: %s\n", n.Elapsed().Round(time.Second))
	_ = n.SendConsole("exit\n")
}
