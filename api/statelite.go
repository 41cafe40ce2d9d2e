package api

// LiteFile is one litefile rule as GET /api/v1/images/{name}/litefile
// returns it: the rules that apply to the image (its own, and the
// all-images rules of the paths it has none for).
type LiteFile struct {
	Path   string `json:"path"`            // absolute; a folder ends in "/"
	Option string `json:"option"`          // tmpfs, con, persistent, persistent,con, ro
	Image  string `json:"image,omitempty"` // "" for an all-images rule
	File   string `json:"file,omitempty"`  // inventory file
	Line   int    `json:"line,omitempty"`  // line of the rule's path
}
