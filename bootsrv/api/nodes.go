package api

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/noderange"
)

const maxEditBody = 1 << 20

func apiNodes(nodes []*inventory.Node, blame bool) []api.Node {
	out := make([]api.Node, len(nodes))
	for i, n := range nodes {
		out[i] = n.API(blame)
	}
	return out
}

func names(nodes []*inventory.Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Name
	}
	return out
}

// listNodes serves GET /api/v1/nodes?range=R&blame=1.
func (a *API) listNodes(w http.ResponseWriter, r *http.Request) error {
	blame, err := boolParam(r, "blame")
	if err != nil {
		return err
	}
	c, err := a.cluster()
	if err != nil {
		return err
	}
	nodes, err := resolveRange(c, r.URL.Query().Get("range"), "query parameter range")
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiNodes(nodes, blame))
}

// getNode serves GET /api/v1/nodes/{name}?blame=1.
func (a *API) getNode(w http.ResponseWriter, r *http.Request) error {
	blame, err := boolParam(r, "blame")
	if err != nil {
		return err
	}
	c, err := a.cluster()
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	n, ok := c.Node(name)
	if !ok {
		return errorf(http.StatusNotFound, "node %s not in the inventory", name)
	}
	return writeJSON(w, http.StatusOK, n.API(blame))
}

// edit runs one inventory edit under the edit lock and publishes the new
// cluster. Inventory validation errors are 400s naming file, line and field.
func (a *API) edit(fn func(path string) (*inventory.Cluster, error)) (*inventory.Cluster, error) {
	if a.cfg.InventoryPath == "" || a.cfg.Cluster == nil {
		return nil, errorf(http.StatusConflict, "inventory edits are disabled: bootsrv has no inventory file")
	}
	c, err := fn(a.cfg.InventoryPath)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "%v", err)
	}
	a.cfg.Cluster.Store(c)
	return c, nil
}

// addNodes serves POST /api/v1/nodes (api.NodeEdit): add a node or range.
func (a *API) addNodes(w http.ResponseWriter, r *http.Request) error {
	var e api.NodeEdit
	if err := decodeJSON(w, r, maxEditBody, &e); err != nil {
		return err
	}
	if strings.TrimSpace(e.Name) == "" {
		return errorf(http.StatusBadRequest, "field name is empty")
	}
	auditf(r, "add nodes %s%s", e.Name, fieldsSummary(e.Fields))
	want, err := noderange.ParseMax(e.Name, inventory.MaxNodes)
	if err != nil {
		return errorf(http.StatusBadRequest, "field name: %v", err)
	}
	a.editMu.Lock()
	defer a.editMu.Unlock()
	c, err := a.cluster()
	if err != nil {
		return err
	}
	var exist []string
	for _, n := range want {
		if _, ok := c.Node(n); ok {
			exist = append(exist, n)
		}
	}
	if len(exist) > 0 {
		return errorf(http.StatusConflict, "%s already in the inventory", plural(exist))
	}
	c, err = a.edit(func(path string) (*inventory.Cluster, error) {
		return inventory.AddNode(path, e.Name, e.Fields, a.liteImageCheck)
	})
	if err != nil {
		return err
	}
	added, err := resolveRange(c, e.Name, "field name")
	if err != nil {
		return err
	}
	a.log.Info("nodes added", "range", noderange.Compact(want))
	return writeJSON(w, http.StatusCreated, apiNodes(added, false))
}

// setNodes serves PATCH /api/v1/nodes/{range} (api.NodeEdit.Fields).
func (a *API) setNodes(w http.ResponseWriter, r *http.Request) error {
	expr := r.PathValue("range")
	var e api.NodeEdit
	if err := decodeJSON(w, r, maxEditBody, &e); err != nil {
		return err
	}
	if e.Name != "" && e.Name != expr {
		return errorf(http.StatusBadRequest, "field name %q differs from the range %q in the path", e.Name, expr)
	}
	if len(e.Fields) == 0 {
		return errorf(http.StatusBadRequest, "field fields is empty: nothing to set")
	}
	auditf(r, "set nodes %s%s", expr, fieldsSummary(e.Fields))
	a.editMu.Lock()
	defer a.editMu.Unlock()
	c, err := a.cluster()
	if err != nil {
		return err
	}
	if _, err := resolveRange(c, expr, "range"); err != nil {
		return err
	}
	c, err = a.edit(func(path string) (*inventory.Cluster, error) {
		return inventory.SetNodes(path, expr, e.Fields, a.liteImageCheck)
	})
	if err != nil {
		return err
	}
	nodes, err := resolveRange(c, expr, "range")
	if err != nil {
		return err
	}
	a.log.Info("nodes set", "range", expr, "fields", len(e.Fields))
	return writeJSON(w, http.StatusOK, apiNodes(nodes, false))
}

// deleteNodes serves DELETE /api/v1/nodes/{range}. The nodes' mode
// overrides go too; their events and status stay as history.
func (a *API) deleteNodes(w http.ResponseWriter, r *http.Request) error {
	expr := r.PathValue("range")
	auditf(r, "delete nodes %s", expr)
	a.editMu.Lock()
	defer a.editMu.Unlock()
	c, err := a.cluster()
	if err != nil {
		return err
	}
	nodes, err := resolveRange(c, expr, "range")
	if err != nil {
		return err
	}
	if _, err := a.edit(func(path string) (*inventory.Cluster, error) {
		return inventory.DeleteNodes(path, expr, a.liteImageCheck)
	}); err != nil {
		return err
	}
	if err := a.cfg.Store.ClearModes(names(nodes)); err != nil {
		return err
	}
	a.log.Info("nodes deleted", "range", expr)
	return writeJSON(w, http.StatusOK, apiNodes(nodes, false))
}

// fieldsSummary lists edited attributes for the audit log, sorted by key:
// " image=rocky9 mode=iscsi". Inventory values are references, never
// secrets (secrets live in the secret store).
func fieldsSummary(f map[string]any) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := fmt.Sprint(f[k])
		if len(v) > 64 {
			v = v[:64] + "..."
		}
		fmt.Fprintf(&b, " %s=%s", k, v)
	}
	return b.String()
}
