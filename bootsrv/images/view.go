package images

import "time"

// View is the registry in folder dir for reading only (Get, List, Path):
// unlike Open it neither creates the folder nor removes the uploads in
// progress, so `bootsrv check` and a reload may look at the images of a
// running bootsrv.
func View(dir string) *Registry { return &Registry{dir: dir, Now: time.Now} }
