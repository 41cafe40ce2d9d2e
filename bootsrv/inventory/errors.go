package inventory

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
)

// Error is one problem in an inventory file.
type Error struct {
	File  string
	Line  int    // 0 when unknown
	Field string // e.g. "nodes[1].interfaces[0].mac"; empty for syntax errors
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

// maxErrors is how many errors one Parse reports.
const maxErrors = 10

// errList collects up to maxErrors errors and counts the rest.
type errList struct {
	file string
	errs []error
	more int
}

func (l *errList) add(line int, field, format string, args ...any) {
	if len(l.errs) >= maxErrors {
		l.more++
		return
	}
	l.errs = append(l.errs, &Error{File: l.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (l *errList) failed() bool { return len(l.errs) > 0 }

// err joins the collected errors, nil if there are none.
func (l *errList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	errs := l.errs
	if l.more > 0 {
		errs = append(errs[:len(errs):len(errs)], fmt.Errorf("%s: %d more errors not shown", l.file, l.more))
	}
	return errors.Join(errs...)
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 parse error into an *Error with its line.
func syntaxError(file string, err error) error {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: line, Msg: "yaml: " + m[2]}
	}
	return &Error{File: file, Msg: err.Error()}
}
