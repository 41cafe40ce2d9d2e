package torrent

import (
	"testing"

	"github.com/anacrolix/torrent"
)

// TestChunkSizeServable: every peer of ours serves the blocks we request:
// a request must fit the uploader's rate-limit burst (burstFor, also the
// seeder's) and the library's per-connection request buffer.
func TestChunkSizeServable(t *testing.T) {
	if maxAlloc := torrent.NewDefaultClientConfig().MaxAllocPeerRequestDataPerConn; chunkSize > maxAlloc {
		t.Errorf("chunk size %d > MaxAllocPeerRequestDataPerConn %d: peers refuse the requests", chunkSize, maxAlloc)
	}
	for _, limit := range []int64{1, 64 << 10, 2 << 20, 1 << 30} {
		if b := burstFor(limit); chunkSize > b {
			t.Errorf("cap %d B/s: burst %d < chunk size %d: a capped peer cannot serve a block", limit, b, chunkSize)
		}
	}
}
