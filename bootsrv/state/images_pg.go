package state

import (
	"context"
	"database/sql"
	"fmt"
)

// Images of replicas. Each replica keeps its own registry folder; a shared
// store lists every image once in dt_images (created with the compat
// functions, PostgreSQL only) with its record and the HTTP base URL of the
// replica that has it (origin). Replicas fetch what they lack from the
// origin and verify its sha256 before they list it
// (bootsrv/server/replicaimages.go).

const pgImagesTable = `
CREATE TABLE IF NOT EXISTS dt_images (
	name    TEXT   PRIMARY KEY,
	sha256  TEXT   NOT NULL,
	record  TEXT   NOT NULL,   -- images.Record as JSON
	origin  TEXT   NOT NULL,   -- base URL of a replica serving /images/NAME
	created BIGINT NOT NULL    -- the record's creation time: a newer upload wins
);
`

// SharedImage is one image of the replicas.
type SharedImage struct {
	Name, SHA256, Origin string
	Record               []byte // images.Record as JSON
	Created              int64  // Unix nanoseconds
}

// PublishImage lists im for the replicas unless a newer image of that name
// is listed already; it reports whether im is now the listed one.
func (s *Store) PublishImage(im SharedImage) (bool, error) {
	if !s.pg {
		return false, ErrNotShared
	}
	ctx := context.Background()
	var n int64
	err := s.tx(ctx, "publish image "+im.Name, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `INSERT INTO dt_images(name, sha256, record, origin, created) VALUES(?1, ?2, ?3, ?4, ?5)
			ON CONFLICT(name) DO UPDATE SET sha256 = excluded.sha256, record = excluded.record, origin = excluded.origin,
			created = excluded.created WHERE dt_images.created < excluded.created`,
			im.Name, im.SHA256, string(im.Record), im.Origin, im.Created)
		if err != nil {
			return err
		}
		n, err = r.RowsAffected()
		return err
	})
	return n == 1, err
}

// SharedImages lists the replicas' images.
func (s *Store) SharedImages(ctx context.Context) ([]SharedImage, error) {
	if !s.pg {
		return nil, ErrNotShared
	}
	rows, err := s.r.QueryContext(ctx, `SELECT name, sha256, record, origin, created FROM dt_images ORDER BY name`)
	if err != nil {
		return nil, s.unreachable(fmt.Errorf("shared images: %w", err))
	}
	defer rows.Close()
	var out []SharedImage
	for rows.Next() {
		var im SharedImage
		var rec string
		if err := rows.Scan(&im.Name, &im.SHA256, &rec, &im.Origin, &im.Created); err != nil {
			return nil, fmt.Errorf("shared images: %w", err)
		}
		im.Record = []byte(rec)
		out = append(out, im)
	}
	return out, rows.Err()
}
