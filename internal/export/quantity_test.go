package export

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

// quantityCases are limits as a spec may give them: bytes for memory,
// millicores for cpus.
var quantityCases = []struct {
	name   string
	bytes  int64
	millis int64
}{
	{name: "small", bytes: 1, millis: 1},
	{name: "below 1024", bytes: 1023, millis: 999},
	{name: "1024", bytes: 1024, millis: 1000},
	{name: "not a multiple", bytes: 1536, millis: 1500},
	{name: "decimal megabytes", bytes: 256_000_000, millis: 2000},
	{name: "binary megabytes", bytes: 256 << 20, millis: 250},
	{name: "gigabytes", bytes: 1 << 30, millis: 1_000_000},
	{name: "a thousand", bytes: 1000, millis: 1_500_000},
	{name: "exabytes", bytes: 3 << 60, millis: 123_000_000_000},
}

// TestQuantityAsKubernetes: berth's canonical quantities are those of
// k8s.io/apimachinery's resource.Quantity, which kubectl prints.
func TestQuantityAsKubernetes(t *testing.T) {
	for _, tc := range quantityCases {
		t.Run(tc.name, func(t *testing.T) {
			checkQuantities(t, tc.bytes, tc.millis)
		})
	}
}

func checkQuantities(t *testing.T, bytes, millis int64) {
	t.Helper()
	if got, want := binaryQuantity(bytes), resource.NewQuantity(bytes, resource.BinarySI).String(); got != want {
		t.Errorf("binaryQuantity(%d) = %q, Kubernetes writes %q", bytes, got, want)
	}
	if got, want := decimalQuantity(millis, -3), resource.NewMilliQuantity(millis, resource.DecimalSI).String(); got != want {
		t.Errorf("decimalQuantity(%d, -3) = %q, Kubernetes writes %q", millis, got, want)
	}
}

func FuzzQuantityAsKubernetes(f *testing.F) {
	for _, tc := range quantityCases {
		f.Add(tc.bytes, tc.millis)
	}
	f.Fuzz(func(t *testing.T, bytes, millis int64) {
		if bytes < 0 || millis < 0 {
			t.Skip("limits are positive")
		}
		checkQuantities(t, bytes, millis)
	})
}
