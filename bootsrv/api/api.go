// Package api serves bootsrv's HTTP side: the iPXE chain and per-node
// scripts, boot files (kernels, initramfs images), per-node manifests, node
// events, and the admin API that trapctl (package client) talks to.
//
// Routes (net/http ServeMux patterns):
//
//	GET    /boot.ipxe                 chain script: -> /ipxe?mac=..&platform=..
//	GET    /ipxe?mac=M&platform=P     per-node script (starts a boot: consumes --once)
//	GET    /boot/{file...}            files under DATA/boot (Range requests, no listings)
//	GET    /manifest/{node}           manifest.Manifest (JSON)
//	GET    /manifest?mac=M            manifest by MAC; unknown MAC: discovery manifest
//	GET    /manifest/{node}/postscripts  the booted OS's keys and postscripts, text (postscripts.go)
//	GET    /postscripts/{name}        a script in DATA/postscripts
//	POST   /api/v1/events             one manifest.Event or a JSON array of them
//	GET    /api/v1/events?node=N&limit=K
//	GET    /api/v1/nodes?range=R&blame=1
//	GET    /api/v1/nodes/{name}?blame=1
//	GET    /api/v1/nodes/{name}/inventory  api.NodeInventory: latest hardware report
//	POST   /api/v1/nodes              api.NodeEdit: add a node or range
//	PATCH  /api/v1/nodes/{range}      api.NodeEdit.Fields: set attributes
//	DELETE /api/v1/nodes/{range}
//	POST   /api/v1/mode               api.ModeSet -> api.ModeSetResult
//	GET    /api/v1/status?range=R     []api.Status
//	GET    /api/v1/hostkeys?range=R   known_hosts lines "NAME,ADDRESS KEYTYPE KEY"
//	PUT    /api/v1/images/{name}?format=F&sha256=H[&files=N&source=S&replace=1]
//	                                  streamed image upload -> api.Image (201)
//	GET    /api/v1/images             []api.Image (with used_by)
//	GET    /api/v1/images/{name}      api.Image
//	DELETE /api/v1/images/{name}[?force=1]  409 while nodes' image attribute names it
//	GET    /images/{name}             the image file (Range requests; the torrent web seed)
//	GET    /images/{name}.torrent     the image's .torrent (with --torrent-listen; see swarm.go)
//	GET    /api/v1/images/{name}/swarm  api.ImageSwarm: seeder and nodes in the swarm
//	GET    /api/v1/images/{name}/litefile  []api.LiteFile: the statelite rules of the image
//	GET    /announce                  the private BitTorrent tracker (nodes with their announce key, and bootsrv; announce.go)
//	PUT    /api/v1/secrets/{name}     store a secret (secrets.go)
//	GET    /api/v1/secrets/{name}     show a secret
//	GET    /api/v1/secrets/{node}/{name}  a node pulls its secret (TLS only)
//	GET    /api/v1/tls/cert           bootsrv's TLS certificate, PEM (tls.go)
//	POST   /api/v1/boot/register      nodeauth.Registration -> nodeauth.Registered (register.go)
//	POST   /api/v1/boot/os-token      nodeauth.OSToken (signed; register.go)
//	GET    /api/v1/admin/whoami       api.WhoAmI: the caller's admin identity
//	POST   /api/v1/admin/tokens       api.TokenCreate -> api.TokenCreated (201; admintokens.go)
//	GET    /api/v1/admin/tokens       []api.Token (no secrets)
//	DELETE /api/v1/admin/tokens/{name}  revoke -> api.Token
//	GET    /api/v1/audit?limit=N      []api.AuditRecord (audit.go)
//	GET    /api/v1/discovery          []api.Discovered (discovery.go)
//	POST   /api/v1/discovery/assign   api.DiscoverAssign -> api.DiscoverAssigned
//	GET    /ui, /ui/state, /ui/events  the web status page (admin credential or web session; web.go)
//	POST   /ui/login, /ui/logout      web session from an admin token, over TLS
//
// Routes under /api/v1 other than events, secret pulls and boot
// registration are admin routes: they need an admin credential
// (adminauth.go); node routes need the node's boot credential (nodeauth.go).
//
// Every non-2xx answer is a JSON api.Error: 400 for bad input (naming the
// field or parameter), 404 for unknown nodes or MACs, 409 for conflicts.
//
// Next-boot-only modes are consumed when /ipxe serves a known node's script
// (state.Store.StartBoot); the manifest fetched later in that same boot
// still shows the once mode with Once set.
package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/images"
	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/bootsrv/power"
	"github.com/disklesstrap/disklesstrap/bootsrv/secrets"
	"github.com/disklesstrap/disklesstrap/bootsrv/state"
	"github.com/disklesstrap/disklesstrap/nodeauth"
)

// Config wires the handlers to the rest of bootsrv.
type Config struct {
	// Cluster holds the current inventory. bootsrv's SIGHUP reload stores
	// a new one; node edits through the API store theirs too.
	Cluster *atomic.Pointer[inventory.Cluster]
	// InventoryPath is the cluster.yaml that node edits rewrite.
	InventoryPath string
	// Store is the runtime state.
	Store *state.Store
	// DataDir holds boot/ (served at /boot/) and tftp/ (not served here).
	DataDir string
	// BaseURL returns the public base URL ("http://198.18.0.1:8080") that
	// scripts and manifests point nodes to, for a request. Nil derives it
	// from the request's Host header.
	BaseURL func(r *http.Request) string
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock for manifests' Generated; nil means time.Now.
	Now func() time.Time
	// Images is the OS image registry; nil opens DataDir/images.
	Images *images.Registry
	// Swarm, if set, distributes the registry's images over BitTorrent
	// (see swarm.go); nil: transport http only.
	Swarm *SwarmConfig
	// Secrets is the mode-iscsi secret store (see secrets.go); nil: the
	// secret endpoints answer 503.
	Secrets *secrets.Store
	// SecretsPull lets nodes fetch their secrets (see secrets.go), over
	// TLS only; off: nodes get secrets pushed over SSH only.
	SecretsPull bool
	// TLSPort is the port of bootsrv's TLS listener serving this same
	// handler; 0: no TLS, so no secret pulls. See tls.go.
	TLSPort int
	// TLSCert is that listener's certificate (PEM), served to loopback at
	// GET /api/v1/tls/cert for trapctl initrd build to pin.
	TLSCert []byte
	// AdminSocket is the path of bootsrv's admin socket, named in the
	// 401 answers that tell a caller how to get a credential
	// (adminauth.go); "" means api.DefaultAdminSocket.
	AdminSocket string
	// SocketBaseURL replaces BaseURL for requests on the admin socket
	// (image and torrent URLs in answers); "": BaseURL.
	SocketBaseURL string
	// TokenServers are the https base URLs remote admins reach the TLS
	// listener at (one per boot network), written into the credentials
	// that token creation returns; nil: derived from the request.
	TokenServers []string
	// NodeAuthOff accepts node routes without a node credential (see
	// nodeauth.go). For tests of the handlers behind requireNode only;
	// bootsrv never sets it.
	NodeAuthOff bool
	// Power reaches the nodes' BMCs (power.go); nil: IPMI over the LAN.
	Power power.BMC
}

// API is bootsrv's HTTP handler.
type API struct {
	cfg    Config
	log    *slog.Logger
	mux    *http.ServeMux
	editMu sync.Mutex // serializes inventory edits (read-modify-write of the file)
	// imagesErr is why the image registry could not be opened.
	imagesErr error
	swarm     swarmState
	windows   windows       // replay windows of the nodes' boots (nodeauth.go)
	manifests manifestCache // encoded manifests (manifestcache.go)
	// The boot requests' handlers, for fastRoute (fastroute.go).
	ipxeRoute, manifestRoute http.Handler
}

// New returns the handler for cfg.
func New(cfg Config) *API {
	if cfg.BaseURL == nil {
		cfg.BaseURL = HostBaseURL
	}
	if sock, base := cfg.SocketBaseURL, cfg.BaseURL; sock != "" {
		// The admin socket's Host header ("localhost") is no address a
		// node or another host can use.
		cfg.BaseURL = func(r *http.Request) string {
			if r.Context().Value(localPeerKey{}) != nil {
				return sock
			}
			return base(r)
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &API{cfg: cfg, log: log, mux: http.NewServeMux()}
	if a.cfg.Images == nil && cfg.DataDir != "" {
		a.cfg.Images, a.imagesErr = images.Open(filepath.Join(cfg.DataDir, "images"))
		if a.imagesErr != nil {
			log.Error("image registry", "err", a.imagesErr)
		}
	}
	a.swarm.imgs = map[string]*swarmImage{}
	a.routes()
	a.swarmStart()
	return a
}

// HostBaseURL derives the base URL from the request: "http://" + Host.
func HostBaseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// routes registers every route in one of three classes:
//
//   - public: what firmware, iPXE and any node fetch before they can hold a
//     credential (scripts, boot files, manifests, images, torrents);
//   - node: what only the node itself may send (events, host keys,
//     discovery reports, secret pulls, boot registration): requireNode
//     (nodeauth.go) checks the per-boot credential;
//   - admin: everything that reads or changes the cluster: requireAdmin
//     (adminauth.go) checks the admin credential.
func (a *API) routes() {
	public := func(pattern string, fn func(http.ResponseWriter, *http.Request) error) {
		a.mux.Handle(pattern, handler{a, fn})
	}
	node := func(pattern string, fn func(http.ResponseWriter, *http.Request) error) {
		a.mux.Handle(pattern, handler{a, a.requireNode(fn)})
	}
	admin := func(pattern string, fn func(http.ResponseWriter, *http.Request) error) {
		a.mux.Handle(pattern, handler{a, a.requireAdmin(fn)})
	}
	a.ipxeRoute, a.manifestRoute = handler{a, a.nodeIPXE}, handler{a, a.manifestByName}
	public("GET /boot.ipxe", a.bootIPXE)
	a.mux.Handle(patternIPXE, a.ipxeRoute)
	public("GET /boot/{file...}", a.bootFile)
	a.mux.Handle(patternManifest, a.manifestRoute)
	public("GET /manifest", a.manifestByMAC)
	public("GET /images/{name}", a.imageFile)
	public("POST "+nodeauth.RegisterPath, a.registerBoot)
	public("GET /manifest/{node}/postscripts", a.manifestPostscripts)
	public("GET /postscripts/{name}", a.postscriptFile)

	a.mux.Handle("POST /api/v1/events", handler{a, a.nodeAuth(a.postEvents, true)}) // node, or the booted OS's token
	node("POST "+nodeauth.OSTokenPath, a.postOSToken)
	a.mux.Handle("GET /api/v1/secrets/{node}/{name}", handler{a, a.pullOverTLS(a.requireNode(a.pullSecret))}) // node, over TLS

	admin("GET /api/v1/events", a.getEvents)
	admin("GET /api/v1/nodes", a.listNodes)
	admin("GET /api/v1/nodes/{name}", a.getNode)
	admin("GET /api/v1/nodes/{name}/inventory", a.nodeInventory) // install.go
	admin("POST /api/v1/nodes", a.addNodes)
	admin("PATCH /api/v1/nodes/{range}", a.setNodes)
	admin("DELETE /api/v1/nodes/{range}", a.deleteNodes)
	admin("POST /api/v1/mode", a.setMode)
	admin("GET /api/v1/power", a.powerStatus)       // power.go
	admin("POST /api/v1/power", a.powerChange)      // power.go
	admin("POST /api/v1/console/{name}", a.console) // console.go: SOL, Upgrade: dt-console
	admin("GET /api/v1/status", a.status)
	admin("GET /api/v1/hostkeys", a.hostKeys)
	admin("PUT /api/v1/images/{name}", a.putImage)
	admin("GET /api/v1/images", a.listImages)
	admin("GET /api/v1/images/{name}", a.getImage)
	admin("DELETE /api/v1/images/{name}", a.deleteImage)
	admin("GET /api/v1/images/{name}/swarm", a.imageSwarm)
	admin("GET /api/v1/images/{name}/litefile", a.liteFiles)
	admin("PUT /api/v1/secrets/{name}", a.putSecret)
	admin("GET /api/v1/secrets/{name}", a.showSecret)
	admin("GET /api/v1/tls/cert", a.tlsCert)
	admin("GET /api/v1/admin/whoami", a.whoAmI)
	admin("POST /api/v1/admin/tokens", a.createToken)
	admin("GET /api/v1/admin/tokens", a.listTokens)
	admin("DELETE /api/v1/admin/tokens/{name}", a.revokeToken)
	admin("GET /api/v1/audit", a.getAudit)
	admin("GET /api/v1/discovery", a.listDiscovered)                       // discovery.go
	admin("POST /api/v1/discovery/assign", a.assignDiscovered)             // discovery.go
	a.mux.Handle("GET /ui", handler{a, a.webAuth(a.webPageHandler, true)}) // admin, or a web session (web.go)
	a.mux.Handle("GET /ui/state", handler{a, a.webAuth(a.webState, false)})
	a.mux.Handle("GET /ui/events", handler{a, a.webAuth(a.webEvents, false)})
	public("POST /ui/login", a.webLogin) // checks an admin token itself, over TLS only
	public("POST /ui/logout", a.webLogout)
	if a.cfg.Swarm != nil && a.cfg.Swarm.Tracker != nil {
		a.mux.Handle("GET /announce", a.trackerAuth(a.cfg.Swarm.Tracker)) // node (announce key), or bootsrv's seeder
	}
}

// ServeHTTP implements http.Handler. Requests no route matches get a JSON
// api.Error with the mux's status (404, or 405 with its Allow header).
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.fastRoute(w, r) {
		return
	}
	h, pattern := a.mux.Handler(r)
	if pattern != "" {
		a.mux.ServeHTTP(w, r)
		return
	}
	sw := &statusOnly{header: http.Header{}}
	h.ServeHTTP(sw, r)
	if allow := sw.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	if loc := sw.header.Get("Location"); loc != "" && sw.status/100 == 3 {
		http.Redirect(w, r, loc, sw.status) // path cleaning redirects
		return
	}
	msg := fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)
	if sw.status == http.StatusMethodNotAllowed {
		msg = fmt.Sprintf("method %s not allowed on %s", r.Method, r.URL.Path)
	}
	writeError(w, sw.status, msg)
}

// statusOnly records the status and headers a handler writes.
type statusOnly struct {
	header http.Header
	status int
}

func (s *statusOnly) Header() http.Header { return s.header }
func (s *statusOnly) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
}
func (s *statusOnly) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return len(b), nil
}

// cluster is the current inventory.
func (a *API) cluster() (*inventory.Cluster, error) {
	if a.cfg.Cluster == nil {
		return nil, errorf(http.StatusServiceUnavailable, "no inventory loaded")
	}
	c := a.cfg.Cluster.Load()
	if c == nil {
		return nil, errorf(http.StatusServiceUnavailable, "no inventory loaded")
	}
	return c, nil
}

// httpError is an error with the status to answer.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &httpError{status, fmt.Sprintf(format, args...)}
}

// handler adapts a handler that returns an error.
type handler struct {
	a  *API
	fn func(http.ResponseWriter, *http.Request) error
}

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			h.a.log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", p)
			writeError(w, http.StatusInternalServerError, "internal error")
		}
	}()
	err := h.fn(w, r)
	if err == nil {
		if h.a.log.Enabled(r.Context(), slog.LevelDebug) { // no argument boxing per request otherwise
			h.a.log.Debug("http", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "took", time.Since(start))
		}
		return
	}
	status := statusOf(err)
	lvl := slog.LevelInfo
	if status >= 500 {
		lvl = slog.LevelError
	}
	h.a.log.Log(r.Context(), lvl, "http error", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "status", status, "err", err)
	writeError(w, status, err.Error())
}

// statusOf is the HTTP status a handler's error answers with.
func statusOf(err error) int {
	var he *httpError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he.status
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case timedOut(err):
		return http.StatusRequestTimeout // Limits cut a stalled body
	}
	return http.StatusInternalServerError
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(api.Error{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b.Bytes())
	return nil
}

func writeText(w http.ResponseWriter, s string) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err := w.Write([]byte(s))
	return err
}

// decodeJSON reads a JSON body of at most max bytes into v, strictly.
func decodeJSON(w http.ResponseWriter, r *http.Request, max int64, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, max)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errorf(http.StatusBadRequest, "request body: %v", err)
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "request body: trailing data after the JSON value")
	}
	return nil
}

// boolParam reads a boolean query parameter ("1", "true", "", ...).
func boolParam(r *http.Request, name string) (bool, error) {
	switch strings.ToLower(r.URL.Query().Get(name)) {
	case "", "0", "false", "no":
		return false, nil
	case "1", "true", "yes":
		return true, nil
	}
	return false, errorf(http.StatusBadRequest, "query parameter %s: want 1 or 0, got %q", name, r.URL.Query().Get(name))
}
