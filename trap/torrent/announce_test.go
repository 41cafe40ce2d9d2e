package torrent

import (
	"testing"

	"github.com/anacrolix/torrent/metainfo"
)

// TestAddAnnounceQuery: the node's announce key goes on every tracker URL.
func TestAddAnnounceQuery(t *testing.T) {
	mi := &metainfo.MetaInfo{
		Announce:     "http://198.18.0.1:8080/announce",
		AnnounceList: [][]string{{"http://198.18.0.1:8080/announce", "http://b/announce?x=1"}},
	}
	addAnnounceQuery(mi, "dt_node=cn001&dt_boot=b&dt_key=k")
	want := []string{
		"http://198.18.0.1:8080/announce?dt_node=cn001&dt_boot=b&dt_key=k",
		"http://198.18.0.1:8080/announce?dt_node=cn001&dt_boot=b&dt_key=k",
		"http://b/announce?x=1&dt_node=cn001&dt_boot=b&dt_key=k",
	}
	got := []string{mi.Announce, mi.AnnounceList[0][0], mi.AnnounceList[0][1]}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("tracker URL %d = %q, want %q", i, got[i], want[i])
		}
	}
}
