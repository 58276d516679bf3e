// Package cobolrt is a small runtime for Go translations of COBOL programs: fixed-point decimals with COBOL's
// truncation, ROUNDED and size-error rules, DISPLAY (zoned) / COMP-3 / binary encodings, numeric editing, and
// fixed-length record files. Standard library only.
package cobolrt

import (
	"fmt"
	"math/big"
	"strings"
)

// Dec is an exact decimal: Unscaled * 10^-Scale. The zero value is 0. Values are immutable.
type Dec struct {
	u *big.Int
	s int
}

var ten = big.NewInt(10)

func pow10(n int) *big.Int { return new(big.Int).Exp(ten, big.NewInt(int64(n)), nil) }

func (d Dec) unscaled() *big.Int {
	if d.u == nil {
		return new(big.Int)
	}
	return d.u
}

// New returns unscaled * 10^-scale, e.g. New(12345, 2) is 123.45.
func New(unscaled int64, scale int) Dec { return Dec{big.NewInt(unscaled), scale} }

// Parse reads "123", "-0.05", "+12.50"; it panics on malformed text (literals in translated code are constants).
func Parse(s string) Dec {
	d, err := ParseErr(s)
	if err != nil {
		panic(err)
	}
	return d
}

// ParseErr reads a decimal literal and reports malformed text as an error.
func ParseErr(s string) (Dec, error) {
	t := strings.TrimSpace(s)
	neg := false
	if strings.HasPrefix(t, "-") || strings.HasPrefix(t, "+") {
		neg = t[0] == '-'
		t = t[1:]
	}
	intPart, frac, _ := strings.Cut(t, ".")
	digits := intPart + frac
	if digits == "" {
		return Dec{}, fmt.Errorf("cobolrt: %q is not a decimal number", s)
	}
	u, ok := new(big.Int).SetString(digits, 10)
	if !ok || strings.ContainsAny(digits, "+-") {
		return Dec{}, fmt.Errorf("cobolrt: %q is not a decimal number", s)
	}
	if neg {
		u.Neg(u)
	}
	return Dec{u, len(frac)}, nil
}

// Int returns the integer n as a Dec.
func Int(n int64) Dec { return Dec{big.NewInt(n), 0} }

// Scale is the number of decimal places the value carries.
func (d Dec) Scale() int { return d.s }

// Sign is -1, 0 or 1.
func (d Dec) Sign() int { return d.unscaled().Sign() }

// IsZero reports whether the value is 0.
func (d Dec) IsZero() bool { return d.Sign() == 0 }

// Neg returns -d.
func (d Dec) Neg() Dec { return Dec{new(big.Int).Neg(d.unscaled()), d.s} }

// Abs returns |d|.
func (d Dec) Abs() Dec { return Dec{new(big.Int).Abs(d.unscaled()), d.s} }

// Rescale changes the scale; going down truncates toward zero (COBOL's default), going up is exact.
func (d Dec) Rescale(scale int) Dec {
	u := d.unscaled()
	if scale >= d.s {
		return Dec{new(big.Int).Mul(u, pow10(scale-d.s)), scale}
	}
	return Dec{new(big.Int).Quo(u, pow10(d.s-scale)), scale}
}

// Round changes the scale rounding half away from zero (COBOL ROUNDED, the default NEAREST-AWAY-FROM-ZERO).
func (d Dec) Round(scale int) Dec {
	if scale >= d.s {
		return d.Rescale(scale)
	}
	div := pow10(d.s - scale)
	q, r := new(big.Int).QuoRem(d.unscaled(), div, new(big.Int))
	twice := new(big.Int).Mul(new(big.Int).Abs(r), big.NewInt(2))
	if twice.Cmp(div) >= 0 {
		if d.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return Dec{q, scale}
}

func align(a, b Dec) (*big.Int, *big.Int, int) {
	s := max(a.s, b.s)
	return a.Rescale(s).unscaled(), b.Rescale(s).unscaled(), s
}

// Add returns a + b exactly.
func (a Dec) Add(b Dec) Dec { x, y, s := align(a, b); return Dec{new(big.Int).Add(x, y), s} }

// Sub returns a - b exactly.
func (a Dec) Sub(b Dec) Dec { x, y, s := align(a, b); return Dec{new(big.Int).Sub(x, y), s} }

// Mul returns a * b exactly.
func (a Dec) Mul(b Dec) Dec { return Dec{new(big.Int).Mul(a.unscaled(), b.unscaled()), a.s + b.s} }

// Div returns a / b with scale decimal places, truncated (rounded when rounded is true); b = 0 panics, so check
// b.IsZero() first where COBOL would take ON SIZE ERROR.
func (a Dec) Div(b Dec, scale int, rounded bool) Dec {
	if b.IsZero() {
		panic("cobolrt: division by zero")
	}
	extra := 0
	if rounded {
		extra = 1
	}
	// a/b at scale+extra: (ua * 10^(scale+extra+sb-sa)) / ub
	shift := scale + extra + b.s - a.s
	num := new(big.Int).Set(a.unscaled())
	den := new(big.Int).Set(b.unscaled())
	if shift >= 0 {
		num.Mul(num, pow10(shift))
	} else {
		den.Mul(den, pow10(-shift))
	}
	q := Dec{new(big.Int).Quo(num, den), scale + extra}
	if rounded {
		return q.Round(scale)
	}
	return q
}

// Cmp returns -1, 0 or 1 as a is less than, equal to or greater than b.
func (a Dec) Cmp(b Dec) int { x, y, _ := align(a, b); return x.Cmp(y) }

// String is the plain decimal form: "-123.45", "0.00", "7".
func (d Dec) String() string {
	u := d.unscaled()
	neg := u.Sign() < 0
	digits := new(big.Int).Abs(u).String()
	if d.s > 0 {
		if len(digits) <= d.s {
			digits = strings.Repeat("0", d.s-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-d.s] + "." + digits[len(digits)-d.s:]
	} else if d.s < 0 {
		digits += strings.Repeat("0", -d.s)
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// Int64 returns the integer part (truncated); values beyond int64 wrap.
func (d Dec) Int64() int64 { return d.Rescale(0).unscaled().Int64() }

// Pic describes a numeric item: PIC S9(7)V99 is Pic{Digits: 9, Scale: 2, Signed: true}.
type Pic struct {
	Digits int
	Scale  int
	Signed bool
}

// P is shorthand for Pic{digits, scale, signed}.
func P(digits, scale int, signed bool) Pic { return Pic{digits, scale, signed} }

// Store fits v into the item as MOVE and arithmetic statements do: decimals beyond Scale are truncated (or rounded
// when rounded is true), high-order digits beyond the item are dropped, and an unsigned item keeps |v|.
// sizeError reports that high-order digits were lost: with ON SIZE ERROR, COBOL leaves the target unchanged.
func (p Pic) Store(v Dec, rounded bool) (stored Dec, sizeError bool) {
	var r Dec
	if rounded {
		r = v.Round(p.Scale)
	} else {
		r = v.Rescale(p.Scale)
	}
	u := new(big.Int).Set(r.unscaled())
	limit := pow10(p.Digits)
	if new(big.Int).Abs(u).Cmp(limit) >= 0 {
		sizeError = true
		neg := u.Sign() < 0
		u.Abs(u).Rem(u, limit)
		if neg {
			u.Neg(u)
		}
	}
	if !p.Signed && u.Sign() < 0 {
		u.Neg(u)
	}
	return Dec{u, p.Scale}, sizeError
}

// Move is Store without rounding, ignoring size errors: COBOL's MOVE of a numeric value to a numeric item.
func (p Pic) Move(v Dec) Dec { r, _ := p.Store(v, false); return r }

// Compute stores v into the item honouring ROUNDED and ON SIZE ERROR: when a size error happens and onSizeError is
// true, the old value is kept and ok is false (the caller runs its ON SIZE ERROR branch).
func (p Pic) Compute(old, v Dec, rounded, onSizeError bool) (result Dec, ok bool) {
	r, overflow := p.Store(v, rounded)
	if overflow && onSizeError {
		return old, false
	}
	return r, !overflow
}
