package state

import (
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendRecord appends r as one JSON line, the form json.Unmarshal reads
// back into a bootRecord (replay). Written by hand: encoding/json's
// reflection was most of what queueing a record cost.
func appendRecord(b []byte, r bootRecord) []byte {
	b = append(b, '{')
	sep := false
	field := func(name string) {
		if sep {
			b = append(b, ',')
		}
		sep = true
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
	}
	if r.Node != "" {
		field("n")
		b = appendJSONString(b, r.Node)
	}
	if r.Boot != 0 {
		field("b")
		b = strconv.AppendInt(b, r.Boot, 10)
	}
	if ev := r.Event; ev != nil {
		field("e")
		b = append(b, `{"node":`...)
		b = appendJSONString(b, ev.Node)
		if ev.MAC != "" {
			b = append(b, `,"mac":`...)
			b = appendJSONString(b, ev.MAC)
		}
		b = append(b, `,"phase":`...)
		b = appendJSONString(b, ev.Phase)
		if ev.Message != "" {
			b = append(b, `,"message":`...)
			b = appendJSONString(b, ev.Message)
		}
		if len(ev.Data) > 0 {
			b = append(b, `,"data":{`...)
			keys := make([]string, 0, len(ev.Data))
			for k := range ev.Data {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for i, k := range keys {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, k)
				b = append(b, ':')
				b = appendJSONString(b, ev.Data[k])
			}
			b = append(b, '}')
		}
		b = append(b, `,"time":"`...)
		b = ev.Time.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"', '}')
	}
	return append(b, '}', '\n')
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes
// U+FFFD, as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
