package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/images"
	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/noderange"
)

// maxSourceNote bounds the free-form source note of an upload.
const maxSourceNote = 512

// registry is the image registry, or a 503 saying why there is none.
func (a *API) registry() (*images.Registry, error) {
	if a.cfg.Images == nil {
		if a.imagesErr != nil {
			return nil, errorf(http.StatusServiceUnavailable, "image registry unavailable: %v", a.imagesErr)
		}
		return nil, errorf(http.StatusServiceUnavailable, "image registry unavailable: bootsrv has no data folder")
	}
	return a.cfg.Images, nil
}

// imageError maps registry errors to HTTP answers.
func imageError(err error) error {
	var me *images.MismatchError
	var ue *images.UploadError
	switch {
	case tooLarge(err):
		return err // 413 (handler), naming the cap; the temporary file is gone
	case errors.As(err, &me), errors.As(err, &ue), errors.Is(err, images.ErrInvalid):
		return errorf(http.StatusBadRequest, "%v", err)
	case errors.Is(err, images.ErrExists):
		return errorf(http.StatusConflict, "%v (replace it with replace=1: trapctl image pack --replace)", err)
	case errors.Is(err, images.ErrNotFound):
		return errorf(http.StatusNotFound, "%v", err)
	case errors.Is(err, images.ErrBadRecord):
		return errorf(http.StatusInternalServerError, "%v", err)
	}
	return err
}

// usedBy maps image names to the nodes whose image attribute names them.
func usedBy(c *inventory.Cluster) map[string][]string {
	out := map[string][]string{}
	for _, n := range c.Nodes() {
		if img := inventory.Val(n.Attrs.Image); img != "" {
			out[img] = append(out[img], n.Name)
		}
	}
	return out
}

func (a *API) apiImage(r *http.Request, rec images.Record, users []string) api.Image {
	im := api.Image{
		Name: rec.Name, Format: rec.Format, Size: rec.Size, SHA256: rec.SHA256,
		Created: rec.Created, Files: rec.Files, Source: rec.Source, Profile: rec.Profile,
		URL: a.cfg.BaseURL(r) + "/images/" + rec.Name,
	}
	if len(users) > 0 {
		im.UsedBy = noderange.Compact(users)
	}
	a.swarmFields(&im, r)
	return im
}

// putImage serves PUT /api/v1/images/{name}?format=F&sha256=H: the body
// is streamed into the registry (never held in memory) and checked
// against the declared digest and Content-Length.
func (a *API) putImage(w http.ResponseWriter, r *http.Request) error {
	reg, err := a.registry()
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	auditf(r, "upload image %s (%s)", name, r.URL.Query().Get(api.ImageParamFormat))
	if err := images.CheckName(name); err != nil {
		return errorf(http.StatusBadRequest, "%v", err)
	}
	q := r.URL.Query()
	rec := images.Record{Name: name, Format: q.Get(api.ImageParamFormat), SHA256: q.Get(api.ImageParamSHA256), Source: q.Get(api.ImageParamSource)}
	switch {
	case rec.Format == "":
		return errorf(http.StatusBadRequest, "query parameter format is required (squashfs, tar or tar.zst)")
	case rec.SHA256 == "":
		return errorf(http.StatusBadRequest, "query parameter sha256 is required: the hex SHA-256 of the image file")
	}
	if err := images.CheckFormat(rec.Format); err != nil {
		return errorf(http.StatusBadRequest, "query parameter format: %v", err)
	}
	if err := images.CheckSHA256(rec.SHA256); err != nil {
		return errorf(http.StatusBadRequest, "query parameter sha256: %v", err)
	}
	if s := q.Get(api.ImageParamFiles); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return errorf(http.StatusBadRequest, "query parameter files: want a count, got %q", s)
		}
		rec.Files = n
	}
	if len(rec.Source) > maxSourceNote || !utf8.ValidString(rec.Source) || checkControl(rec.Source) {
		return errorf(http.StatusBadRequest, "query parameter source: want one line of text, at most %d bytes", maxSourceNote)
	}
	if rec.Profile, err = profileParam(q.Get(api.ImageParamProfile)); err != nil {
		return err
	}
	replace, err := boolParam(r, api.ImageParamReplace)
	if err != nil {
		return err
	}
	switch {
	case r.ContentLength == 0:
		return errorf(http.StatusBadRequest, "image %s: empty upload", name)
	case r.ContentLength > 0:
		rec.Size = r.ContentLength
	}
	put := reg.Put
	if replace {
		put = reg.Replace
	}
	start := time.Now()
	rec, err = put(rec, r.Body)
	if err != nil {
		return imageError(err)
	}
	took := time.Since(start)
	if err := a.swarmAdd(r.Context(), rec); err != nil {
		a.log.Error("image stored but not seeded (nodes with transport torrent fall back to http)", "image", rec.Name, "err", err)
	}
	a.log.Info("image stored", "image", rec.Name, "format", rec.Format, "bytes", rec.Size, "sha256", rec.SHA256,
		"took", took.Round(time.Millisecond), "MiBps", mibps(rec.Size, took), "replace", replace)
	c, err := a.cluster()
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, a.apiImage(r, rec, usedBy(c)[rec.Name]))
}

func mibps(n int64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return strconv.FormatFloat(float64(n)/(1<<20)/d.Seconds(), 'f', 1, 64)
}

func checkControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// listImages serves GET /api/v1/images.
func (a *API) listImages(w http.ResponseWriter, r *http.Request) error {
	reg, err := a.registry()
	if err != nil {
		return err
	}
	c, err := a.cluster()
	if err != nil {
		return err
	}
	recs, err := reg.List()
	if err != nil {
		if recs == nil {
			return err
		}
		a.log.Warn("image records unreadable", "err", err)
	}
	users := usedBy(c)
	out := make([]api.Image, len(recs))
	for i, rec := range recs {
		out[i] = a.apiImage(r, rec, users[rec.Name])
	}
	return writeJSON(w, http.StatusOK, out)
}

// getImage serves GET /api/v1/images/{name}.
func (a *API) getImage(w http.ResponseWriter, r *http.Request) error {
	reg, err := a.registry()
	if err != nil {
		return err
	}
	c, err := a.cluster()
	if err != nil {
		return err
	}
	rec, err := reg.Get(r.PathValue("name"))
	if err != nil {
		return imageError(err)
	}
	return writeJSON(w, http.StatusOK, a.apiImage(r, rec, usedBy(c)[rec.Name]))
}

// deleteImage serves DELETE /api/v1/images/{name}[?force=1]: refused (409)
// while any node's image attribute names the image, unless forced.
func (a *API) deleteImage(w http.ResponseWriter, r *http.Request) error {
	reg, err := a.registry()
	if err != nil {
		return err
	}
	auditf(r, "delete image %s", r.PathValue("name"))
	force, err := boolParam(r, api.ImageParamForce)
	if err != nil {
		return err
	}
	c, err := a.cluster()
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if _, err := reg.Get(name); err != nil && !errors.Is(err, images.ErrBadRecord) {
		return imageError(err) // a broken record can still be deleted
	}
	users := usedBy(c)[name]
	if len(users) > 0 && !force {
		return errorf(http.StatusConflict, "image %s is used by %s (their image attribute): point them to another image first, or delete with force=1 (trapctl image delete %s --force)",
			name, plural(users), name)
	}
	rec, err := reg.Delete(name)
	if err != nil {
		return imageError(err)
	}
	a.swarmRemove(name)
	a.log.Info("image deleted", "image", name, "forced", force && len(users) > 0, "used_by", noderange.Compact(users))
	return writeJSON(w, http.StatusOK, a.apiImage(r, rec, users))
}

// imageFile serves GET /images/{name}: the image file with Range support
// (nodes' downloads and the torrent web seed).
func (a *API) imageFile(w http.ResponseWriter, r *http.Request) error {
	reg, err := a.registry()
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if im, ok := a.imageTorrentName(name); ok {
		return a.torrentFile(w, r, im)
	}
	w = a.webSeedWriter(w, r, name)
	f, rec, err := reg.File(name)
	if err != nil {
		if errors.Is(err, images.ErrInvalid) || errors.Is(err, images.ErrNotFound) {
			return errorf(http.StatusNotFound, "no image %q", name)
		}
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Image-Format", rec.Format)
	http.ServeContent(w, r, "", st.ModTime(), f)
	return nil
}
