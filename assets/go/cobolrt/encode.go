package cobolrt

import (
	"fmt"
	"math/big"
	"strings"
)

// SignMode is how a DISPLAY (zoned) item carries its sign in the last byte.
type SignMode int

const (
	// SignASCII: GnuCOBOL's default on ASCII machines: a negative last digit is 'p'..'y' (digit | 0x40).
	SignASCII SignMode = iota
	// SignEBCDIC: the mainframe overpunch seen in ASCII-converted data: '{','A'..'I' positive, '}','J'..'R' negative.
	SignEBCDIC
)

// EncodeDisplay renders v as a DISPLAY item of p (trailing embedded sign), Digits bytes long.
func EncodeDisplay(v Dec, p Pic, mode SignMode) []byte {
	stored := p.Move(v)
	digits := new(big.Int).Abs(stored.unscaled()).String()
	if len(digits) < p.Digits {
		digits = strings.Repeat("0", p.Digits-len(digits)) + digits
	}
	out := []byte(digits)
	if p.Signed && len(out) > 0 {
		last := out[len(out)-1] - '0'
		neg := stored.Sign() < 0
		switch {
		case mode == SignASCII && neg:
			out[len(out)-1] = '0' + last + 0x40
		case mode == SignEBCDIC && neg:
			out[len(out)-1] = "}JKLMNOPQR"[last]
		case mode == SignEBCDIC:
			out[len(out)-1] = "{ABCDEFGHI"[last]
		}
	}
	return out
}

// EncodeDisplaySeparate renders a SIGN SEPARATE item: Digits digits plus a '+'/'-' byte, leading or trailing.
func EncodeDisplaySeparate(v Dec, p Pic, leading bool) []byte {
	stored := p.Move(v)
	digits := new(big.Int).Abs(stored.unscaled()).String()
	if len(digits) < p.Digits {
		digits = strings.Repeat("0", p.Digits-len(digits)) + digits
	}
	sign := "+"
	if stored.Sign() < 0 {
		sign = "-"
	}
	if leading {
		return []byte(sign + digits)
	}
	return []byte(digits + sign)
}

// DecodeDisplay reads a DISPLAY numeric item with scale decimals; it accepts both sign conventions, separate signs
// and spaces (read as zeros, as GnuCOBOL does).
func DecodeDisplay(b []byte, scale int) Dec {
	neg := false
	digits := make([]byte, 0, len(b))
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case c == ' ':
			digits = append(digits, '0')
		case c >= 'p' && c <= 'y':
			digits, neg = append(digits, c-0x40), true
		case c == '{':
			digits = append(digits, '0')
		case c >= 'A' && c <= 'I':
			digits = append(digits, '1'+c-'A')
		case c == '}':
			digits, neg = append(digits, '0'), true
		case c >= 'J' && c <= 'R':
			digits, neg = append(digits, '1'+c-'J'), true
		case c == '-' && (i == 0 || i == len(b)-1):
			neg = true
		case c == '+' && (i == 0 || i == len(b)-1):
		default:
			digits = append(digits, '0')
		}
	}
	u, ok := new(big.Int).SetString(string(digits), 10)
	if !ok {
		u = new(big.Int)
	}
	if neg {
		u.Neg(u)
	}
	return Dec{u, scale}
}

// PackedLen is the byte length of a COMP-3 item with digits digits.
func PackedLen(digits int) int { return digits/2 + 1 }

// EncodePacked renders v as COMP-3: two digits per byte, sign nibble C (+), D (-) or F (unsigned).
func EncodePacked(v Dec, p Pic) []byte {
	stored := p.Move(v)
	n := PackedLen(p.Digits)
	digits := new(big.Int).Abs(stored.unscaled()).String()
	if len(digits) < 2*n-1 {
		digits = strings.Repeat("0", 2*n-1-len(digits)) + digits
	}
	sign := byte(0x0F)
	if p.Signed {
		sign = 0x0C
		if stored.Sign() < 0 {
			sign = 0x0D
		}
	}
	nibbles := append([]byte(digits), 0)
	out := make([]byte, n)
	for i := 0; i < n; i++ {
		hi := nibbles[2*i] - '0'
		lo := sign
		if 2*i+1 < len(digits) {
			lo = nibbles[2*i+1] - '0'
		}
		out[i] = hi<<4 | lo
	}
	return out
}

// DecodePacked reads a COMP-3 item with scale decimals (sign nibble D or B is negative).
func DecodePacked(b []byte, scale int) Dec {
	u := new(big.Int)
	for i, c := range b {
		hi, lo := int64(c>>4), int64(c&0x0F)
		u.Mul(u, ten).Add(u, big.NewInt(min(hi, 9)))
		if i < len(b)-1 {
			u.Mul(u, ten).Add(u, big.NewInt(min(lo, 9)))
		} else if lo == 0x0D || lo == 0x0B {
			u.Neg(u)
		}
	}
	return Dec{u, scale}
}

// BinaryLen is the byte length of a COMP/BINARY item: 2-4-8 by digits (IBM; GnuCOBOL -std=ibm).
func BinaryLen(digits int) int {
	switch {
	case digits <= 4:
		return 2
	case digits <= 9:
		return 4
	default:
		return 8
	}
}

// EncodeBinary renders v as a big-endian two's-complement COMP item of BinaryLen(p.Digits) bytes.
func EncodeBinary(v Dec, p Pic) []byte {
	n := BinaryLen(p.Digits)
	x := p.Move(v).unscaled().Int64()
	out := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		out[i] = byte(x)
		x >>= 8
	}
	return out
}

// DecodeBinary reads a big-endian COMP item (signed when signed is true) with scale decimals.
func DecodeBinary(b []byte, scale int, signed bool) Dec {
	var x int64
	for _, c := range b {
		x = x<<8 | int64(c)
	}
	if signed && len(b) < 8 && len(b) > 0 && b[0]&0x80 != 0 {
		x -= int64(1) << (8 * len(b))
	}
	return Dec{big.NewInt(x), scale}
}

// Hex is a short hexadecimal dump for messages about binary fields.
func Hex(b []byte) string { return fmt.Sprintf("%X", b) }
