package spec

// Byte size units. The decimal ones are powers of 1000 and the binary ones
// powers of 1024, as in the SI and IEC standards: "10MB" is 10,000,000 bytes
// and "10MiB" is 10,485,760 bytes.
const (
	Byte ByteSize = 1
	KB            = 1000 * Byte
	MB            = 1000 * KB
	GB            = 1000 * MB
	TB            = 1000 * GB
	KiB           = 1024 * Byte
	MiB           = 1024 * KiB
	GiB           = 1024 * MiB
	TiB           = 1024 * GiB
)
