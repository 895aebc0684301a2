package spec

import "github.com/berth-dev/berth/internal/tomlconf"

// Byte size units, as defined (and documented) in tomlconf: "10MB" is
// 10,000,000 bytes and "10MiB" 10,485,760.
const (
	Byte = tomlconf.Byte
	KB   = tomlconf.KB
	MB   = tomlconf.MB
	GB   = tomlconf.GB
	TB   = tomlconf.TB
	KiB  = tomlconf.KiB
	MiB  = tomlconf.MiB
	GiB  = tomlconf.GiB
	TiB  = tomlconf.TiB
)
