// demo:kinds/roundtrip in Go: every function echoes its argument (see ../kinds-py/wit).
// The glue (types, Option, Result, the canonical ABI) is generated from the WIT at build time.
package main

import (
	"encoding/hex"
	"fmt"
)

func main() {}

func RoundtripEchoBool(v bool) bool                       { return v }
func RoundtripEchoS8(v int8) int8                         { return v }
func RoundtripEchoS16(v int16) int16                      { return v }
func RoundtripEchoS32(v int32) int32                      { return v }
func RoundtripEchoS64(v int64) int64                      { return v }
func RoundtripEchoU8(v uint8) uint8                       { return v }
func RoundtripEchoU16(v uint16) uint16                    { return v }
func RoundtripEchoU32(v uint32) uint32                    { return v }
func RoundtripEchoU64(v uint64) uint64                    { return v }
func RoundtripEchoF32(v float32) float32                  { return v }
func RoundtripEchoF64(v float64) float64                  { return v }
func RoundtripEchoChar(v rune) rune                       { return v }
func RoundtripEchoString(v string) string                 { return v }
func RoundtripEchoBytes(v []byte) []byte                  { return v }
func RoundtripEchoStrings(v []string) []string            { return v }
func RoundtripEchoShape(v Shape) Shape                    { return v }
func RoundtripEchoEvent(v Event) Event                    { return v }
func RoundtripEchoColor(v Color) Color                    { return v }
func RoundtripEchoPerms(v Perms) Perms                    { return v }
func RoundtripEchoOption(v Option[string]) Option[string] { return v }

func RoundtripEchoTuple(v struct {
	F0 uint32
	F1 string
}) struct {
	F0 uint32
	F1 string
} {
	return v
}

func RoundtripEchoNestedOption(v Option[Option[uint32]]) Option[Option[uint32]] { return v }

func RoundtripLookup(name string) Result[string, ErrorCode] {
	switch name {
	case "":
		return Err[string](ErrorCodeNotFound)
	case "root":
		return Err[string](ErrorCodeDenied)
	}
	return Ok[string, ErrorCode](name)
}

func RoundtripCheck(fail bool) Result[struct{}, string] {
	if fail {
		return Err[struct{}]("failed")
	}
	return Result[struct{}, string]{}
}

func RoundtripDescribe(a uint32, b string, c []byte) string {
	return fmt.Sprintf("%d|%s|%s", a, b, hex.EncodeToString(c))
}

func RoundtripPeek(c *Counter) uint32 { return c.value }

// Counter is the exported resource demo:kinds/roundtrip#counter.
type Counter struct{ value uint32 }

func NewCounter(start uint32) *Counter   { return &Counter{start} }
func CounterZero() *Counter              { return &Counter{} }
func (c *Counter) Incr(by uint32) uint32 { c.value += by; return c.value }
func (c *Counter) Get() uint32           { return c.value }
