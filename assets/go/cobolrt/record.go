package cobolrt

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// DDPath maps a file's ASSIGN name to a path the way GnuCOBOL does: $DD_NAME, then $dd_NAME, then $NAME, else the
// name itself. Run the COBOL and the Go program with the same environment and they open the same files.
func DDPath(name string) string {
	for _, key := range []string{"DD_" + name, "dd_" + name, name} {
		if v := os.Getenv(key); v != "" {
			return v
		}
	}
	return name
}

// RecordReader reads fixed-length records (ORGANIZATION SEQUENTIAL, RECORDING MODE F: no separators).
type RecordReader struct {
	r      *bufio.Reader
	length int
	f      *os.File
}

// OpenRecords opens the file assigned to name (see DDPath) for reading records of length bytes.
func OpenRecords(name string, length int) (*RecordReader, error) {
	f, err := os.Open(DDPath(name))
	if err != nil {
		return nil, err
	}
	return &RecordReader{bufio.NewReader(f), length, f}, nil
}

// NewRecordReader reads records of length bytes from r.
func NewRecordReader(r io.Reader, length int) *RecordReader {
	return &RecordReader{r: bufio.NewReader(r), length: length}
}

// Next returns the next record, or io.EOF at the end (COBOL's AT END). A short last record is space-padded.
func (rr *RecordReader) Next() ([]byte, error) {
	rec := make([]byte, rr.length)
	n, err := io.ReadFull(rr.r, rec)
	if n == 0 && (err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF)) {
		return nil, io.EOF
	}
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	for i := n; i < rr.length; i++ {
		rec[i] = ' '
	}
	return rec, nil
}

// Close closes the underlying file when the reader opened it.
func (rr *RecordReader) Close() error {
	if rr.f != nil {
		return rr.f.Close()
	}
	return nil
}

// LineReader reads LINE SEQUENTIAL records: one per line, padded with spaces (or cut) to length.
type LineReader struct {
	s      *bufio.Scanner
	length int
	f      *os.File
}

// OpenLines opens the file assigned to name for LINE SEQUENTIAL reading.
func OpenLines(name string, length int) (*LineReader, error) {
	f, err := os.Open(DDPath(name))
	if err != nil {
		return nil, err
	}
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64*1024), 16*1024*1024)
	return &LineReader{s, length, f}, nil
}

// Next returns the next line as a record of the reader's length, or io.EOF.
func (lr *LineReader) Next() ([]byte, error) {
	if !lr.s.Scan() {
		if err := lr.s.Err(); err != nil {
			return nil, err
		}
		return nil, io.EOF
	}
	return Pad([]byte(strings.TrimRight(lr.s.Text(), "\r")), lr.length), nil
}

// Close closes the file.
func (lr *LineReader) Close() error { return lr.f.Close() }

// RecordWriter writes fixed-length records, or lines (LINE SEQUENTIAL: trailing spaces removed, "\n" added).
type RecordWriter struct {
	w      *bufio.Writer
	f      *os.File
	length int
	lines  bool
}

// CreateRecords creates (truncates) the file assigned to name for records of length bytes; lines selects LINE
// SEQUENTIAL output.
func CreateRecords(name string, length int, lines bool) (*RecordWriter, error) {
	f, err := os.Create(DDPath(name))
	if err != nil {
		return nil, err
	}
	return &RecordWriter{bufio.NewWriter(f), f, length, lines}, nil
}

// NewRecordWriter writes records of length bytes to w.
func NewRecordWriter(w io.Writer, length int, lines bool) *RecordWriter {
	return &RecordWriter{w: bufio.NewWriter(w), length: length, lines: lines}
}

// Write writes one record, padded with spaces or cut to the record length.
func (rw *RecordWriter) Write(rec []byte) error {
	rec = Pad(rec, rw.length)
	if rw.lines {
		rec = append([]byte(strings.TrimRight(string(rec), " ")), '\n')
	}
	_, err := rw.w.Write(rec)
	return err
}

// Close flushes and closes.
func (rw *RecordWriter) Close() error {
	err := rw.w.Flush()
	if rw.f != nil {
		if cerr := rw.f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// Pad returns b cut or space-padded to n bytes (a new slice).
func Pad(b []byte, n int) []byte {
	out := make([]byte, n)
	copy(out, b)
	for i := min(len(b), n); i < n; i++ {
		out[i] = ' '
	}
	return out
}

// Text returns rec[off:off+n] as a string (alphanumeric field).
func Text(rec []byte, off, n int) string { return string(rec[off : off+n]) }

// PutText stores s into rec[off:off+n] as MOVE to PIC X does: left-justified, space-padded, cut on the right.
func PutText(rec []byte, off, n int, s string) { copy(rec[off:off+n], Pad([]byte(s), n)) }

// Blank returns a record of n spaces (MOVE SPACES).
func Blank(n int) []byte { return Pad(nil, n) }

// Now is the program's clock: COB_CURRENT_DATE ("YYYY/MM/DD HH:MM:SS", as GnuCOBOL reads it) when set, so a
// translation and its COBOL original see the same date in a differential run; else the local time.
func Now() time.Time {
	if v := os.Getenv("COB_CURRENT_DATE"); v != "" {
		for _, layout := range []string{"2006/01/02 15:04:05", "2006/01/02 15:04", "2006/01/02"} {
			if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
				return t
			}
		}
	}
	return time.Now()
}

// CurrentDate is FUNCTION CURRENT-DATE: YYYYMMDDHHMMSShh+hhmm (hundredths are 00 under a fixed clock).
func CurrentDate() string {
	t := Now()
	_, off := t.Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	hundredths := t.Nanosecond() / 10_000_000
	if os.Getenv("COB_CURRENT_DATE") != "" {
		hundredths = 0
	}
	return fmt.Sprintf("%s%02d%c%02d%02d", t.Format("20060102150405"), hundredths, sign, off/3600, off%3600/60)
}

// AcceptDate is ACCEPT ... FROM DATE (YYMMDD); AcceptDate8 is FROM DATE YYYYMMDD; AcceptTime is FROM TIME
// (HHMMSShh).
func AcceptDate() string  { return Now().Format("060102") }
func AcceptDate8() string { return Now().Format("20060102") }
func AcceptTime() string  { return Now().Format("150405") + "00" }
