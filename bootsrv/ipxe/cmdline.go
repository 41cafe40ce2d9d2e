package ipxe

import (
	"fmt"
	"strings"
)

// MaxCmdline bounds the extra kernel arguments: the x86 kernel's whole
// command line is 2048 bytes, and bootsrv adds its own keys and URLs.
const MaxCmdline = 1024

// iPXE splits a script line into tokens at whitespace, expands "${...}"
// before that, and ends a command at a token that is "||", "&&" or ";" or
// begins with "#". No character of a value may therefore be one of those,
// and since iPXE has no quoting, nothing can be escaped: values are held
// to character sets with none of them (allow-lists, not deny-lists).

// CheckCmdline accepts extra kernel arguments an iPXE "kernel" line can
// carry unchanged: space-separated tokens of letters, digits and
// = . , : / - _ + @ ! ~ * (what real parameters use: console=ttyS0,115200n8,
// root=/dev/sda1, netconsole=@/eth0,6666@198.18.0.1/, acpi_osi=!Windows),
// and double quotes in pairs for a kernel value with spaces
// (acpi_osi="!Windows 2012"; iPXE passes quotes through as they are).
// Everything else is refused, naming the token: ";", "#", "$", "&", "|",
// backslashes, single quotes, brackets, control characters and non-ASCII.
func CheckCmdline(s string) error {
	if len(s) > MaxCmdline {
		return fmt.Errorf("%d bytes, more than %d", len(s), MaxCmdline)
	}
	quotes := 0
	for _, tok := range strings.Split(s, " ") {
		for _, r := range tok {
			switch {
			case r == '"':
				quotes++
			case r < 0x20 || r == 0x7f:
				return fmt.Errorf("control character %q not allowed", r)
			case !cmdlineChar(r):
				return fmt.Errorf("token %q: character %q not allowed in a kernel argument "+
					"(want letters, digits, = . , : / - _ + @ ! ~ * and paired double quotes)", tok, r)
			}
		}
	}
	if quotes%2 != 0 {
		return fmt.Errorf("unpaired double quote in %q", s)
	}
	return nil
}

func cmdlineChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		strings.ContainsRune("=.,:/-_+@!~*", r)
}

// CheckBootFile accepts a file name below bootsrv's boot folder as it
// goes into a kernel or initrd URL: letters, digits and . - _ + , @ = ~ /,
// no empty, "." or ".." element, not absolute.
func CheckBootFile(s string) error {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-+,@=~/", r)) {
			return fmt.Errorf("file name %q contains %q (want letters, digits, . - _ + , @ = ~ /)", s, r)
		}
	}
	for _, el := range strings.Split(s, "/") {
		if el == "" || el == "." || el == ".." {
			return fmt.Errorf("want a clean relative file name, got %q", s)
		}
	}
	return nil
}

// urlChar is the set checkURL allows: RFC 3986 unreserved characters and
// the delimiters a boot URL needs (scheme, port, path, IPv6 brackets,
// percent escapes), none of them iPXE syntax.
func urlChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		strings.ContainsRune("-._~:/@%+,=[]", r)
}
