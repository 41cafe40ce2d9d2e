package ramroot

import (
	"fmt"

	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// OpenTree opens the image root dir for writes into it (sysroot steps). The real host
// (hostsys.Sys) opens it confined with os.OpenRoot (plan.Tree); a Sys
// without OpenTree (the recording fakes of the tests) gets joinTree, its
// own calls with dir prefixed, so their logs read as before.
func OpenTree(env *plan.Env, dir string) (plan.Tree, error) {
	if o, ok := env.Sys.(plan.TreeOpener); ok {
		t, err := o.OpenTree(dir)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", NewRoot, err)
		}
		return t, nil
	}
	return joinTree{env.Sys, host(env), dir}, nil
}

type joinTree struct {
	sys plan.Sys
	h   Host
	dir string
}

func (j joinTree) MkdirAll(name string) error { return j.sys.MkdirAll(j.dir + name) }
func (j joinTree) WriteFile(name string, data []byte, mode uint32) error {
	return j.sys.WriteFile(j.dir+name, data, mode)
}
func (j joinTree) Symlink(target, name string) error    { return j.sys.Symlink(target, j.dir+name) }
func (j joinTree) Remove(name string) error             { return j.h.Remove(j.dir + name) }
func (j joinTree) Exists(name string) bool              { return j.h.Exists(j.dir + name) }
func (j joinTree) ReadFile(name string) ([]byte, error) { return j.h.ReadFile(j.dir + name) }
func (j joinTree) Close() error                         { return nil }
