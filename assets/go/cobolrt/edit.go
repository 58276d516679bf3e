package cobolrt

import (
	"math/big"
	"strings"
)

// ExpandPic turns "$$,$$9.99" or "Z(5)9V99" into one symbol per character position ("CR"/"DB" stay together).
func ExpandPic(pic string) []string {
	pic = strings.ToUpper(pic)
	var out []string
	for i := 0; i < len(pic); i++ {
		c := pic[i]
		if (c == 'C' && i+1 < len(pic) && pic[i+1] == 'R') || (c == 'D' && i+1 < len(pic) && pic[i+1] == 'B') {
			out = append(out, pic[i:i+2])
			i++
			continue
		}
		if c == '(' {
			j := strings.IndexByte(pic[i:], ')')
			n := 0
			for _, d := range pic[i+1 : i+j] {
				n = n*10 + int(d-'0')
			}
			prev := out[len(out)-1]
			for k := 1; k < n; k++ {
				out = append(out, prev)
			}
			i += j
			continue
		}
		out = append(out, string(c))
	}
	return out
}

// Edit formats v with a numeric-edited PICTURE as MOVE does: Z and * suppression, floating $ + -, insertion of
// , . B 0 /, fixed or trailing signs, CR and DB. Digits beyond the picture are truncated on both sides.
func Edit(v Dec, pic string) string {
	syms := ExpandPic(pic)
	floatSym := ""
	for _, s := range []string{"$", "+", "-"} {
		if count(syms, s) > 1 {
			floatSym = s
			break
		}
	}
	// Digit positions: 9 Z * and every floating symbol but the first.
	intPos, fracPos, afterPoint, seenFloat := 0, 0, false, false
	for _, s := range syms {
		digit := s == "9" || s == "Z" || s == "*"
		if s == floatSym {
			digit = seenFloat
			seenFloat = true
		}
		switch {
		case s == "." || s == "V":
			afterPoint = true
		case digit && afterPoint:
			fracPos++
		case digit:
			intPos++
		}
	}
	stored := Pic{Digits: intPos + fracPos, Scale: fracPos, Signed: true}.Move(v)
	neg := stored.Sign() < 0
	digits := new(big.Int).Abs(stored.unscaled()).String()
	if len(digits) < intPos+fracPos {
		digits = strings.Repeat("0", intPos+fracPos-len(digits)) + digits
	}
	zero := stored.IsZero()
	hasNine := count(syms, "9") > 0
	star := count(syms, "*") > 0
	out := make([]string, 0, len(syms))
	significant, placed, lastBlank, di := false, floatSym == "", -1, 0
	seenFloat = false
	fill := " "
	if star {
		fill = "*"
	}
	signChar := func(s string) string {
		if s == "+" {
			if neg {
				return "-"
			}
			return "+"
		}
		if neg {
			return "-"
		}
		return " "
	}
	start := func() {
		if !significant && !placed && lastBlank >= 0 {
			if floatSym == "$" {
				out[lastBlank] = "$"
			} else {
				out[lastBlank] = signChar(floatSym)
			}
			placed = true
		}
		significant = true
	}
	for i, s := range syms {
		switch {
		case s == floatSym && !seenFloat:
			seenFloat = true
			out = append(out, " ")
			lastBlank = len(out) - 1
		case s == floatSym:
			d := digits[di : di+1]
			di++
			if !significant && d == "0" {
				out = append(out, " ")
				lastBlank = len(out) - 1
			} else {
				start()
				out = append(out, d)
			}
		case s == "9":
			start()
			out = append(out, digits[di:di+1])
			di++
		case s == "Z" || s == "*":
			d := digits[di : di+1]
			di++
			if !significant && d == "0" {
				out = append(out, fill)
			} else {
				start()
				out = append(out, d)
			}
		case s == "." || s == "V":
			if s == "V" {
				continue
			}
			if !significant && zero && !hasNine && fracPos > 0 && !star && !afterDigitsNonzero(digits) {
				out = append(out, " ")
				if floatSym != "" && !placed {
					lastBlank = len(out) - 1
				}
				continue
			}
			start()
			out = append(out, ".")
		case s == "," || s == "B" || s == "0" || s == "/":
			ins := map[string]string{",": ",", "B": " ", "0": "0", "/": "/"}[s]
			if significant || (s == "0" && floatSym == "" && !star && i > 0 && !anyBefore(syms[:i], "Z")) {
				out = append(out, ins)
			} else if floatSym != "" && !placed {
				out = append(out, " ")
				lastBlank = len(out) - 1
			} else {
				out = append(out, fill)
			}
		case s == "CR" || s == "DB":
			if neg {
				out = append(out, s)
			} else {
				out = append(out, "  ")
			}
		case s == "+" || s == "-":
			out = append(out, signChar(s))
		case s == "$":
			out = append(out, "$")
		default:
			out = append(out, s)
		}
	}
	result := strings.Join(out, "")
	if zero && !hasNine && !star && floatSym == "" {
		// BLANK WHEN ZERO behaviour of an all-suppressed picture: every position is a space.
		if count(syms, "Z") == intPos+fracPos {
			return strings.Repeat(" ", len(result))
		}
	}
	if zero && star && !hasNine && count(syms, "*") == intPos+fracPos {
		b := []byte(strings.Repeat("*", len(result)))
		if p := strings.IndexByte(result, '.'); p >= 0 {
			b[p] = '.'
		}
		return string(b)
	}
	return result
}

func afterDigitsNonzero(digits string) bool { return strings.Trim(digits, "0") != "" }

func count(syms []string, s string) int {
	n := 0
	for _, x := range syms {
		if x == s {
			n++
		}
	}
	return n
}

func anyBefore(syms []string, s string) bool { return count(syms, s) > 0 }
