package imageprofile

import (
	"errors"
	"fmt"
	"strconv"
)

// Profile is one profile file as written.
type Profile struct {
	Name        string
	Path        string // the file it was read from
	Description string
	Inherits    []Ref
	Suite       *Value
	Mirror      *Value
	Variant     *Value
	Diskful     *Value  // "true" or "false"
	Kernel      *Value  // the kernel package of a diskful image
	Packages    []Value // "-NAME" removes
	Exclude     []Value
	Files       []File
	Postinstall []Value // absolute paths of the scripts
	Postscripts []Value // absolute paths of the scripts
}

// Value is a string with the line it was written on.
type Value struct {
	S    string
	Line int
}

// Ref is an inherited profile's name and the line naming it.
type Ref = Value

// File is one synced file: Src (absolute path on the build host) copied
// to Dest in the image with Mode and Owner.
type File struct {
	Src   string
	Dest  string
	Mode  uint32 // permission bits; default 0644
	Owner string // "user:group" or "uid:gid"; default "root:root"
	Line  int
}

// Error is one problem in a profile file.
type Error struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *Error) Error() string {
	s := e.File
	if e.Line > 0 {
		s += ":" + strconv.Itoa(e.Line)
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + e.Msg
}

// errList collects the errors of one file.
type errList struct {
	file string
	errs []error
}

func (l *errList) add(line int, field, format string, args ...any) {
	if len(l.errs) < 20 {
		l.errs = append(l.errs, &Error{File: l.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
}

func (l *errList) err() error { return errors.Join(l.errs...) }
