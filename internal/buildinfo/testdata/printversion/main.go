// Command printversion prints buildinfo.Version, for TestStamp.
package main

import (
	"fmt"

	"github.com/knockbeep/knockbeep/internal/buildinfo"
)

func main() { fmt.Println(buildinfo.Version()) }
