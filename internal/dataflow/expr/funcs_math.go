package expr

import (
	"math"
	"math/big"
	"math/rand/v2"
)

// maxRange bounds range()'s count: ADF's own limit on an array an
// expression may build is of this order, and it keeps a typo from
// allocating gigabytes.
const maxRange = 100000

func mathFunctions() []*builtin {
	return []*builtin{
		{name: "add", min: 2, max: 2, impl: pure(arith(func(x, y int64) (int64, bool) {
			r := x + y
			return r, (x >= 0) == (y >= 0) && (r >= 0) != (x >= 0)
		}, func(x, y float64) float64 { return x + y }))},
		{name: "sub", min: 2, max: 2, impl: pure(arith(func(x, y int64) (int64, bool) {
			r := x - y
			return r, (x >= 0) != (y >= 0) && (r >= 0) != (x >= 0)
		}, func(x, y float64) float64 { return x - y }))},
		{name: "mul", min: 2, max: 2, impl: pure(arith(func(x, y int64) (int64, bool) {
			p := new(big.Int).Mul(big.NewInt(x), big.NewInt(y))
			return p.Int64(), !p.IsInt64()
		}, func(x, y float64) float64 { return x * y }))},
		{name: "div", min: 2, max: 2, impl: pure(fnDiv)},
		{name: "mod", min: 2, max: 2, impl: pure(fnMod)},
		{name: "max", min: 1, max: -1, impl: pure(func(a []any) (any, error) { return extreme(a, 1) })},
		{name: "min", min: 1, max: -1, impl: pure(func(a []any) (any, error) { return extreme(a, -1) })},
		{name: "rand", min: 2, max: 2, impl: pure(fnRand)},
		{name: "range", min: 2, max: 2, impl: pure(fnRange)},
	}
}

// numbers checks that both arguments are numbers and says whether both are
// integers.
func numbers(a []any) (ints bool, err error) {
	for i := 0; i < 2; i++ {
		if _, ok := numberOf(a[i]); !ok {
			return false, errorf("expects a number for argument %d, got a value of type '%s'", i+1, typeName(a[i]))
		}
	}
	_, xi := a[0].(int64)
	_, yi := a[1].(int64)
	return xi && yi, nil
}

// arith makes add(), sub() and mul(): integers give an integer (an
// overflow is an error, as in .NET's checked arithmetic), any float makes
// the result a float.
func arith(onInts func(x, y int64) (int64, bool), onFloats func(x, y float64) float64) func([]any) (any, error) {
	return func(a []any) (any, error) {
		ints, err := numbers(a)
		if err != nil {
			return nil, err
		}
		if ints {
			r, overflow := onInts(a[0].(int64), a[1].(int64))
			if overflow {
				return nil, errorf("the result overflows a 64-bit integer")
			}
			return r, nil
		}
		x, _ := numberOf(a[0])
		y, _ := numberOf(a[1])
		return onFloats(x, y), nil
	}
}

// fnDiv is div(): integer division (truncated toward zero) of two
// integers, as ADF documents (div(11, 5) is 2); a float operand makes it
// float division.
func fnDiv(a []any) (any, error) {
	ints, err := numbers(a)
	if err != nil {
		return nil, err
	}
	if ints {
		x, y := a[0].(int64), a[1].(int64)
		if y == 0 {
			return nil, errorf("attempted to divide by zero")
		}
		if x == math.MinInt64 && y == -1 {
			return nil, errorf("the result overflows a 64-bit integer")
		}
		return x / y, nil
	}
	x, _ := numberOf(a[0])
	y, _ := numberOf(a[1])
	if y == 0 {
		return nil, errorf("attempted to divide by zero")
	}
	return x / y, nil
}

// fnMod is mod(): the remainder, with the sign of the dividend as in .NET.
func fnMod(a []any) (any, error) {
	ints, err := numbers(a)
	if err != nil {
		return nil, err
	}
	if ints {
		x, y := a[0].(int64), a[1].(int64)
		if y == 0 {
			return nil, errorf("attempted to divide by zero")
		}
		if y == -1 {
			return int64(0), nil
		}
		return x % y, nil
	}
	x, _ := numberOf(a[0])
	y, _ := numberOf(a[1])
	if y == 0 {
		return nil, errorf("attempted to divide by zero")
	}
	return math.Mod(x, y), nil
}

// extreme is max() (sign 1) and min() (sign -1), of its arguments or of
// the one array it is given; the winner keeps its type.
func extreme(a []any, sign int) (any, error) {
	items := a
	if arr, ok := a[0].([]any); ok && len(a) == 1 {
		items = arr
	}
	if len(items) == 0 {
		return nil, errorf("expects at least one number")
	}
	var best any
	for i, v := range items {
		v = norm(v)
		if _, ok := numberOf(v); !ok {
			return nil, errorf("expects numbers, got a value of type '%s' at position %d", typeName(v), i+1)
		}
		if best == nil {
			best = v
			continue
		}
		if c, _ := compare(v, best); c*sign > 0 {
			best = v
		}
	}
	return best, nil
}

// fnRand is rand(min, max): a random integer with min <= n < max.
func fnRand(a []any) (any, error) {
	lo, err := intArg(a, 0)
	if err != nil {
		return nil, err
	}
	hi, err := intArg(a, 1)
	if err != nil {
		return nil, err
	}
	if hi <= lo {
		return nil, errorf("the maximum (%d) must be greater than the minimum (%d)", hi, lo)
	}
	span := uint64(hi - lo)
	return lo + int64(rand.Uint64N(span)), nil
}

// fnRange is range(start, count): count integers from start.
func fnRange(a []any) (any, error) {
	start, err := intArg(a, 0)
	if err != nil {
		return nil, err
	}
	n, err := intArg(a, 1)
	if err != nil {
		return nil, err
	}
	if n < 0 || n > maxRange {
		return nil, errorf("the count %d must be between 0 and %d", n, maxRange)
	}
	if n > 0 && start > math.MaxInt64-(n-1) {
		return nil, errorf("the range overflows a 64-bit integer")
	}
	out := make([]any, n)
	for i := range out {
		out[i] = start + int64(i)
	}
	return out, nil
}
