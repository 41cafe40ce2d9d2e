package iscsi

import "strings"

func (f *fake) StartKeeper(root string, maps []string) error {
	f.rec("keeper %s %s", f.rel(root), strings.Join(maps, " "))
	return nil
}
