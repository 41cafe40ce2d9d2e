package manifest

import "regexp"

// Postscript sources.
const (
	PostscriptFromImage  = "image"  // baked into the image by trapctl image build
	PostscriptFromServer = "server" // bootsrv's DATA/postscripts, named by the postscripts attribute
)

// PostscriptsDir is where a built image keeps its profile's postscripts.
const PostscriptsDir = "/usr/lib/dt/postscripts"

// Postscript is one script the booted OS runs after the network is up
// (xCAT's postscripts), in the manifest's order (by name).
type Postscript struct {
	Name string `json:"name"`
	// From is PostscriptFromImage or PostscriptFromServer.
	From string `json:"from"`
	// Path is the script's path in the image (from image) or its path on
	// bootsrv, "/postscripts/NAME" (from server).
	Path string `json:"path"`
}

var postscriptRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,99}$`)

// ValidPostscriptName reports whether s may name a postscript (a file name).
func ValidPostscriptName(s string) bool { return postscriptRE.MatchString(s) }
