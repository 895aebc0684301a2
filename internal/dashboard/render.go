package dashboard

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// staticHandler serves the embedded CSS and JS; they hold no data, so they
// need no session. They change only with the binary.
func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static") // the directory is embedded above
	fsrv := http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}

// pageData is what every page's layout gets.
type pageData struct {
	Title string
	Nav   string // which tab is current
	User  string
	CSRF  string
	Topic string // the live topic of the page's #live part; "" = not live
	Error string
	Note  string
	Body  any
}

// renderer holds the parsed templates.
type renderer struct{ t *template.Template }

func newRenderer() (*renderer, error) {
	t, err := template.New("").Funcs(funcs()).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("parsing the dashboard's templates: %w", err)
	}
	return &renderer{t: t}, nil
}

// page writes a whole page: the layout around the named body template.
func (r *renderer) page(w http.ResponseWriter, status int, body string, p pageData) {
	var b bytes.Buffer
	if err := r.t.ExecuteTemplate(&b, "layout-top", p); err == nil {
		err = r.t.ExecuteTemplate(&b, body, p)
		if err == nil {
			err = r.t.ExecuteTemplate(&b, "layout-bottom", p)
		}
		if err != nil {
			http.Error(w, "rendering the page: "+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// fragment renders one template alone, for a live update.
func (r *renderer) fragment(name string, v any) ([]byte, error) {
	var b bytes.Buffer
	if err := r.t.ExecuteTemplate(&b, name, v); err != nil {
		return nil, fmt.Errorf("rendering %s: %w", name, err)
	}
	return b.Bytes(), nil
}

func funcs() template.FuncMap {
	return template.FuncMap{
		"dur":       fmtDur,
		"bytes":     anyBytes,
		"pct":       func(f float64) string { return fmt.Sprintf("%.1f%%", f) },
		"ratio":     func(f float64) string { return fmt.Sprintf("%.2f%%", f*100) },
		"num":       func(f float64) string { return fmt.Sprintf("%.1f", f) },
		"clock":     func(t time.Time) string { return t.Local().Format("15:04:05") },
		"datetime":  func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") },
		"state":     healthState,
		"spark":     sparkline,
		"ttfChart":  ttfChart,
		"hasPrefix": strings.HasPrefix,
		"outcome":   outcomeState,
	}
}

// fmtDur prints a duration rounded for reading: 850ms, 12s, 3m20s, 5h2m, 3d4h.
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	default:
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

// anyBytes is fmtBytes for the integer and float types the views hold.
func anyBytes(v any) string {
	switch n := v.(type) {
	case int64:
		return fmtBytes(n)
	case uint64:
		return fmtBytes(int64(n))
	case float64:
		return fmtBytes(int64(n))
	case int:
		return fmtBytes(int64(n))
	}
	return fmt.Sprint(v)
}

func fmtBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// healthState is the CSS class of an instance's health; the text is shown
// beside it, so colour is never the only signal.
func healthState(h string) string {
	switch {
	case h == "ok":
		return "ok"
	case strings.HasPrefix(h, "failing"):
		return "bad"
	case strings.HasPrefix(h, "starting"):
		return "wait"
	default:
		return "unknown"
	}
}

// outcomeState is the CSS class of a deployment's or a step's outcome.
func outcomeState(o string) string {
	switch o {
	case "ok", "succeeded":
		return "ok"
	case "running":
		return "wait"
	case "skipped", "info":
		return "unknown"
	default:
		return "bad"
	}
}

// trusted marks a fragment the renderer made (escaped by html/template) as
// HTML to embed in a page.
func trusted(b []byte) template.HTML { return template.HTML(b) }
