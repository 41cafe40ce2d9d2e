package api

// The audit log: every admin request that changes something (not GET or
// HEAD), refused or not, is a record in bootsrv's state: who (the
// credential), from where, method, path, a summary the handler sets
// (auditf; never a secret value) and the answer's status.
// GET /api/v1/audit?limit=N shows the last N (default 100).

import (
	"net/http"
	"strconv"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/state"
)

// audit writes r's record; a failure to write it is logged (the change
// itself is done by then).
func (a *API) audit(r *http.Request, c *adminCall, status int) {
	rec := state.AuditRecord{
		Time: a.cfg.Now().UTC(), Who: c.Who, From: c.From,
		Method: r.Method, Path: r.URL.RequestURI(), Summary: c.summary, Status: status,
	}
	if a.cfg.Store == nil {
		a.log.Warn("audit record not stored: no state store", "who", c.Who, "method", r.Method, "path", r.URL.Path, "status", status)
		return
	}
	if err := a.cfg.Store.AddAudit(rec); err != nil {
		a.log.Error("audit record not stored", "who", c.Who, "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
		return
	}
	a.log.Info("audit", "who", c.Who, "from", c.From, "method", r.Method, "path", r.URL.Path, "summary", c.summary, "status", status)
}

func (a *API) getAudit(w http.ResponseWriter, r *http.Request) error {
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return errorf(http.StatusBadRequest, "query parameter limit: want a number >= 0 (0: all), got %q", s)
		}
		limit = n
	}
	recs, err := a.cfg.Store.Audit(limit)
	if err != nil {
		return err
	}
	out := make([]api.AuditRecord, len(recs))
	for i, x := range recs {
		out[i] = api.AuditRecord{ID: x.ID, Time: x.Time, Who: x.Who, From: x.From, Method: x.Method, Path: x.Path, Summary: x.Summary, Status: x.Status}
	}
	return writeJSON(w, http.StatusOK, out)
}
