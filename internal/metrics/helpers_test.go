package metrics

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/berth-dev/berth/internal/runtime"
)

// serve mounts m's handler on a real loopback HTTP server.
func serve(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// fetch GETs url and returns the body of a 200 answer.
func fetch(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scraping %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading scrape: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s\n%s", resp.Status, body)
	}
	return string(body)
}

// samples is an exposition flattened to one value per series, keyed as
// `name{label="value",...}` with labels sorted; histograms become their
// _bucket, _count and _sum series.
type samples map[string]float64

// scrape fetches and parses url's exposition.
func scrape(t *testing.T, url string) samples {
	t.Helper()
	return parse(t, fetch(t, url))
}

func parse(t *testing.T, text string) samples {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parsing exposition: %v\n%s", err, text)
	}
	out := samples{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			flatten(out, name, f.GetType(), m)
		}
	}
	return out
}

func flatten(out samples, name string, typ dto.MetricType, m *dto.Metric) {
	var labels []string
	for _, l := range m.GetLabel() {
		labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	key := func(suffix string, extra ...string) string {
		ls := append(append([]string(nil), labels...), extra...)
		sort.Strings(ls)
		return name + suffix + "{" + strings.Join(ls, ",") + "}"
	}
	switch typ {
	case dto.MetricType_COUNTER:
		out[key("")] = m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		out[key("")] = m.GetGauge().GetValue()
	case dto.MetricType_HISTOGRAM:
		h := m.GetHistogram()
		for _, b := range h.GetBucket() {
			out[key("_bucket", fmt.Sprintf("le=%q", fmtLe(b.GetUpperBound())))] = float64(b.GetCumulativeCount())
		}
		out[key("_bucket", `le="+Inf"`)] = float64(h.GetSampleCount())
		out[key("_count")] = float64(h.GetSampleCount())
		out[key("_sum")] = h.GetSampleSum()
	default:
		out[key("")] = m.GetUntyped().GetValue()
	}
}

func fmtLe(f float64) string {
	if math.IsInf(f, 1) {
		return "+Inf"
	}
	return fmt.Sprint(f)
}

// only returns the series whose name starts with prefix.
func (s samples) only(prefix string) samples {
	out := samples{}
	for k, v := range s {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}

// instanceList is a plain-data Instances: the runtime's answer is a list
// of values, so a real keeper adds nothing the metrics could observe here.
type instanceList struct {
	sts []runtime.Status
	err error
}

func (l instanceList) List(context.Context) ([]runtime.Status, error) { return l.sts, l.err }

// stuckInstances never answers and ignores ctx, like a wedged keeper.
type stuckInstances struct{ release chan struct{} }

func (s stuckInstances) List(context.Context) ([]runtime.Status, error) {
	<-s.release
	return nil, nil
}

// diskList is a plain-data Disks.
type diskList []DiskReading

func (d diskList) Readings() []DiskReading { return d }

// drop returns the series whose name does not start with prefix.
func (s samples) drop(prefix string) samples {
	out := samples{}
	for k, v := range s {
		if !strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}

// merge returns s with the series of others added.
func (s samples) merge(others ...samples) samples {
	out := samples{}
	for _, o := range append([]samples{s}, others...) {
		for k, v := range o {
			out[k] = v
		}
	}
	return out
}

func newTestClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}
