package report

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Line
		wantErr string
	}{
		{`{"event":"progress","progress":{"total":100,"completed":50,"percent":50,"peers":2}}`,
			Line{Event: EventProgress, Progress: Progress{Total: 100, Completed: 50, Percent: 50, Peers: 2}}, ""},
		{`{"event":"done","progress":{"done":true},"infohash":"ab","banned":["198.18.0.12"]}`,
			Line{Event: EventDone, Progress: Progress{Done: true}, InfoHash: "ab", Banned: []string{"198.18.0.12"}}, ""},
		{`{"event":"error","error":"boom"}`, Line{Event: EventError, Error: "boom"}, ""},
		{`{"event":"party"}`, Line{}, "unknown event"},
		{`not json`, Line{}, "helper output"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Parse(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q) = %+v, %v, want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	l := Line{Event: EventSeeding, Progress: Progress{Total: 7, Uploaded: 3, Peers: 1}}
	b := l.Marshal()
	if b[len(b)-1] != '\n' || strings.Count(string(b), "\n") != 1 {
		t.Fatalf("Marshal() = %q, want one line", b)
	}
	got, err := Parse(b[:len(b)-1])
	if err != nil || !reflect.DeepEqual(got, l) {
		t.Errorf("Parse(Marshal(%+v)) = %+v, %v", l, got, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"event":"progress","progress":{"total":1}}`))
	f.Add([]byte(`{"event":"error","error":"x"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Parse(b)
		if err != nil {
			return
		}
		if _, err := Parse(l.Marshal()); err != nil {
			t.Errorf("Parse(Marshal(Parse(%q))) = %v", b, err)
		}
	})
}
