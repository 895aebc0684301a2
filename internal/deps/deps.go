package deps
import (
	_ "github.com/spf13/cobra"
	_ "github.com/pelletier/go-toml/v2"
	_ "go.etcd.io/bbolt"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "golang.org/x/net/http2/h2c"
	_ "golang.org/x/sys/unix"
	_ "github.com/google/go-cmp/cmp"
)
