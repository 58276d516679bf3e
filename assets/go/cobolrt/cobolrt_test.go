package cobolrt

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestPackedRoundTrip(t *testing.T) {
	p := P(9, 2, true)
	for _, s := range []string{"0.00", "10000.00", "-188.74", "9999999.99"} {
		b := EncodePacked(Parse(s), p)
		if len(b) != 5 {
			t.Fatalf("%s: %d bytes", s, len(b))
		}
		if got := DecodePacked(b, 2).String(); got != s {
			t.Errorf("%s -> %X -> %s", s, b, got)
		}
	}
	// The course data: S9(7)V99 COMP-3 holding 10000.00 is 00 10 00 00 0C.
	if got := Hex(EncodePacked(Parse("10000.00"), p)); got != "001000000C" {
		t.Errorf("packed 10000.00 = %s", got)
	}
}

func TestDisplaySignConventions(t *testing.T) {
	p := P(5, 2, true)
	if got := string(EncodeDisplay(Parse("-1.23"), p, SignEBCDIC)); got != "0012L" {
		t.Errorf("EBCDIC overpunch: %s", got)
	}
	for _, raw := range []string{"0012s", "0012L", "-00123", "00123-"} {
		if got := DecodeDisplay([]byte(raw), 2).String(); got != "-1.23" {
			t.Errorf("%s -> %s", raw, got)
		}
	}
	if got := string(EncodeDisplaySeparate(Parse("-1.23"), p, true)); got != "-00123" {
		t.Errorf("separate: %s", got)
	}
}

func TestStoreTruncatesAndFlagsSizeError(t *testing.T) {
	got, overflow := P(3, 1, true).Store(Parse("-12345.67"), false)
	if got.String() != "-45.6" || !overflow {
		t.Errorf("got %s overflow=%v", got, overflow)
	}
	kept, ok := P(3, 0, false).Compute(Int(7), Int(1000), false, true)
	if kept.String() != "7" || ok {
		t.Errorf("ON SIZE ERROR must keep the old value: %s %v", kept, ok)
	}
}

func TestBinary(t *testing.T) {
	p := P(4, 0, true)
	b := EncodeBinary(Int(-2), p)
	if Hex(b) != "FFFE" || DecodeBinary(b, 0, true).String() != "-2" {
		t.Errorf("binary -2: %X", b)
	}
}

func TestRecordsAndDDNames(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.dat")
	t.Setenv("DD_OUTFILE", path)
	w, err := CreateRecords("OUTFILE", 4, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"ab", "abcdef"} {
		if err := w.Write([]byte(r)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if string(data) != "ab  abcd" {
		t.Fatalf("records: %q", data)
	}
	r, err := OpenRecords("OUTFILE", 4)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got [][]byte
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rec)
	}
	if len(got) != 2 || !bytes.Equal(got[1], []byte("abcd")) {
		t.Fatalf("read back %q", got)
	}
	rec := Blank(6)
	PutText(rec, 1, 3, "WXYZ")
	if string(rec) != " WXY  " || Text(rec, 1, 3) != "WXY" {
		t.Errorf("PutText: %q", rec)
	}
}

func TestFixedClock(t *testing.T) {
	t.Setenv("COB_CURRENT_DATE", "2024/01/15 10:30:00")
	if got := CurrentDate()[:16]; got != "2024011510300000" {
		t.Errorf("CURRENT-DATE %s", got)
	}
	if AcceptDate() != "240115" || AcceptDate8() != "20240115" {
		t.Errorf("ACCEPT FROM DATE %s %s", AcceptDate(), AcceptDate8())
	}
}

func TestDecimalArithmetic(t *testing.T) {
	if got := Parse("1.10").Add(Parse("-0.125")).String(); got != "0.975" {
		t.Errorf("add: %s", got)
	}
	if got := Parse("2").Div(Parse("3"), 4, true).String(); got != "0.6667" {
		t.Errorf("div: %s", got)
	}
	if Parse("1.50").Cmp(Parse("1.5")) != 0 {
		t.Error("cmp")
	}
}
