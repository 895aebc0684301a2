package engineapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeEngine is an HTTP server on a unix socket answering as an engine
// would: the handlers say what each test's engine does. It is a fake
// because the error paths (a 404's message, a pull that fails midway, an
// engine of another API version) cannot be made on demand of a real one;
// the real Docker and Podman are in internal/container's tests.
type fakeEngine struct {
	mu    sync.Mutex
	paths []string // every request's method and path with query
}

func startFake(t *testing.T, version string, h http.HandlerFunc) (*Client, *fakeEngine) {
	t.Helper()
	return startFakeRange(t, version, "1.24", h)
}

// startFakeRange is startFake of an engine that accepts versions from
// oldest ("" = it does not say) to version.
func startFakeRange(t *testing.T, version, oldest string, h http.HandlerFunc) (*Client, *fakeEngine) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "engine.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeEngine{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.paths = append(f.paths, r.Method+" "+r.URL.RequestURI())
		f.mu.Unlock()
		if r.URL.Path == "/_ping" {
			if version != "" {
				w.Header().Set("Api-Version", version)
			}
			io.WriteString(w, "OK")
			return
		}
		if r.URL.Path == "/version" {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{"ApiVersion": version, "MinAPIVersion": oldest})
			return
		}
		h(w, r)
	}))
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	c, err := New("unix://" + sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, f
}

func (f *fakeEngine) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.paths...)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestVersionNegotiation: the client speaks the lower of the engine's
// newest version and MaxVersion, and MaxVersion to an engine that says
// none or says something that is not a version.
func TestVersionNegotiation(t *testing.T) {
	for _, tc := range []struct {
		name, server, oldest, want string
	}{
		{"older engine", "1.41", "1.24", "/v1.41/containers/x/json"},
		{"newer engine", "1.52", "1.24", "/v" + MaxVersion + "/containers/x/json"},
		{"ten is more than four", "1.100", "1.24", "/v" + MaxVersion + "/containers/x/json"},
		{"same", MaxVersion, "", "/v" + MaxVersion + "/containers/x/json"},
		{"none", "", "", "/v" + MaxVersion + "/containers/x/json"},
		{"garbage", "v2", "x", "/v" + MaxVersion + "/containers/x/json"},
		{"engine refuses MaxVersion", "1.60", "1.50", "/v1.50/containers/x/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, f := startFakeRange(t, tc.server, tc.oldest, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"Id":"abc","State":{"Running":true,"Pid":42}}`)
			})
			info, err := c.Inspect(ctx(t), "x")
			if err != nil {
				t.Fatal(err)
			}
			if info.ID != "abc" || info.State == nil || !info.State.Running || info.State.Pid != 42 {
				t.Errorf("inspect = %+v", info)
			}
			// A second call pings no more; a ping negotiates again only
			// when the engine's newest version changed.
			if _, err := c.Inspect(ctx(t), "x"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Ping(ctx(t)); err != nil {
				t.Fatal(err)
			}
			want := []string{"GET /_ping", "GET /version", "GET " + tc.want, "GET " + tc.want, "GET /_ping"}
			if d := cmp.Diff(want, f.requests()); d != "" {
				t.Errorf("requests (-want +got):\n%s", d)
			}
		})
	}
}

// TestErrorAnswers: an answer of 400 or more is an *Error carrying the
// engine's message and status, JSON or text, and IsNotFound/IsConflict
// tell 404 and 409 apart.
func TestErrorAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, ctype, body string
		status            int
		want              string
		notFound, conflct bool
	}{
		{"404 json", "application/json", `{"message":"No such container: x"}`, 404, "No such container: x (HTTP 404)", true, false},
		{"409 json", "application/json", `{"message":"Conflict. The container name \"/b\" is already in use"}` + "\n", 409, `Conflict. The container name "/b" is already in use (HTTP 409)`, false, true},
		{"500 text", "text/plain", "driver failed programming external connectivity: address already in use\n", 500, "driver failed programming external connectivity: address already in use (HTTP 500)", false, false},
		{"empty", "", "", 503, "HTTP 503 Service Unavailable", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := startFake(t, "1.41", func(w http.ResponseWriter, r *http.Request) {
				if tc.ctype != "" {
					w.Header().Set("Content-Type", tc.ctype)
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			err := c.Start(ctx(t), "x")
			var e *Error
			if !errors.As(err, &e) || e.Status != tc.status {
				t.Fatalf("Start = %v, want an *Error of %d", err, tc.status)
			}
			if err.Error() != tc.want {
				t.Errorf("error = %q, want %q", err, tc.want)
			}
			if IsNotFound(err) != tc.notFound || IsConflict(err) != tc.conflct {
				t.Errorf("IsNotFound %v IsConflict %v", IsNotFound(err), IsConflict(err))
			}
		})
	}
}

// TestStreamErrors: a pull or build whose stream reports an error after
// the engine answered 200 fails with the engine's message; the lines
// before it are delivered.
func TestStreamErrors(t *testing.T) {
	stream := `{"status":"Pulling from library/x","id":"1"}
{"status":"Downloading","progressDetail":{"current":1,"total":2},"id":"aa"}
{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}
{"status":"never read"}
`
	var got []Message
	c, f := startFake(t, "1.41", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, stream)
	})
	err := c.Pull(ctx(t), "registry.local:5000/team/x", func(m Message) { got = append(got, m) })
	var se *StreamError
	if !errors.As(err, &se) || se.Message != "manifest unknown" {
		t.Fatalf("Pull = %v, want the stream's error", err)
	}
	if len(got) != 2 || got[0].HasProgress() || !got[1].HasProgress() {
		t.Errorf("lines before the error = %+v", got)
	}
	if r := f.requests(); r[len(r)-1] != "POST /v1.41/images/create?fromImage=registry.local%3A5000%2Fteam%2Fx&tag=latest" {
		t.Errorf("pull request = %q", r[len(r)-1])
	}
	// An error with only the "error" field, as a build writes it.
	c2, _ := startFake(t, "1.41", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"stream":"Step 1/2 : FROM scratch\n"}`+"\n"+`{"error":"COPY failed: file not found"}`+"\n")
	})
	var steps []string
	err = c2.Build(ctx(t), strings.NewReader("tar"), BuildOptions{Tags: []string{"a:1"}}, func(m Message) { steps = append(steps, m.Stream) })
	if !errors.As(err, &se) || se.Message != "COPY failed: file not found" || len(steps) != 1 {
		t.Errorf("Build = %v with steps %q", err, steps)
	}
	// A stream cut in the middle of a line is an error too.
	c3, _ := startFake(t, "1.41", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"status":"Pulling`)
	})
	if err := c3.Pull(ctx(t), "x", nil); err == nil || errors.As(err, &se) {
		t.Errorf("a cut stream: %v", err)
	}
}

// TestSplitRef: the pull endpoint's fromImage and tag of a reference.
func TestSplitRef(t *testing.T) {
	for _, tc := range []struct{ ref, name, tag string }{
		{"nginx", "nginx", "latest"},
		{"nginx:1.27", "nginx", "1.27"},
		{"localhost:5000/app", "localhost:5000/app", "latest"},
		{"localhost:5000/app:v2", "localhost:5000/app", "v2"},
		{"app@sha256:abcd", "app", "sha256:abcd"},
		{"app:v1@sha256:abcd", "app", "sha256:abcd"},
	} {
		name, tag := splitRef(tc.ref)
		if name != tc.name || tag != tc.tag {
			t.Errorf("splitRef(%q) = %q, %q; want %q, %q", tc.ref, name, tag, tc.name, tc.tag)
		}
	}
}

// TestCreateBody: the JSON of a create is the API's field names, with the
// name in the query.
func TestCreateBody(t *testing.T) {
	var body map[string]any
	c, f := startFake(t, "1.41", func(w http.ResponseWriter, r *http.Request) {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Error(err)
		}
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"Id":"c1","Warnings":[]}`)
	})
	n := int64(64)
	id, err := c.Create(ctx(t), CreateRequest{Name: "berth-1-app.blue",
		ContainerConfig: ContainerConfig{Image: "sha256:1", Labels: map[string]string{"a": "b"}, ExposedPorts: map[string]struct{}{"80/tcp": {}}},
		HostConfig: &HostConfig{RestartPolicy: RestartPolicy{Name: "no"}, NanoCPUs: 5e8, PidsLimit: &n,
			PortBindings: map[string][]PortBinding{"80/tcp": {{HostIP: "127.0.0.1", HostPort: "80"}}}}})
	if err != nil || id != "c1" {
		t.Fatalf("Create = %q, %v", id, err)
	}
	want := map[string]any{
		"Image": "sha256:1", "Labels": map[string]any{"a": "b"}, "ExposedPorts": map[string]any{"80/tcp": map[string]any{}},
		"HostConfig": map[string]any{"RestartPolicy": map[string]any{"Name": "no"}, "NanoCpus": 5e8, "PidsLimit": 64.0,
			"PortBindings": map[string]any{"80/tcp": []any{map[string]any{"HostIp": "127.0.0.1", "HostPort": "80"}}}},
	}
	if d := cmp.Diff(want, body); d != "" {
		t.Errorf("create body (-want +got):\n%s", d)
	}
	if r := f.requests(); r[len(r)-1] != "POST /v1.41/containers/create?name=berth-1-app.blue" {
		t.Errorf("create request = %q", r[len(r)-1])
	}
}

// TestHosts: the addresses berth accepts, and a clear refusal of others.
func TestHosts(t *testing.T) {
	for _, h := range []string{"unix:///var/run/docker.sock", "tcp://127.0.0.1:2375", "tcp://[::1]:2375"} {
		if _, err := New(h); err != nil {
			t.Errorf("New(%q): %v", h, err)
		}
	}
	for _, h := range []string{"ssh://me@host", "npipe:////./pipe/docker_engine", "/var/run/docker.sock", "unix://"} {
		if _, err := New(h); err == nil {
			t.Errorf("New(%q) accepted", h)
		}
	}
}

// TestUnreachable: no engine at the socket is an error naming where.
func TestUnreachable(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	c, err := New("unix://" + sock)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Ping(ctx(t)); err == nil || !strings.Contains(err.Error(), sock) {
		t.Errorf("Ping of nothing = %v", err)
	}
}

// TestImageCommand: an image's Entrypoint and Cmd read as lists, one
// string, or null (an imported image has neither: not a command of "").
func TestImageCommand(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		entry, cmd []string
	}{
		{"lists", `{"Entrypoint":["/agent"],"Cmd":["serve","-v"]}`, []string{"/agent"}, []string{"serve", "-v"}},
		{"null", `{"Entrypoint":null,"Cmd":null}`, nil, nil},
		{"absent", `{}`, nil, nil},
		{"string", `{"Cmd":"/bin/sh -c run"}`, nil, []string{"/bin/sh -c run"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c ImageConfig
			if err := json.Unmarshal([]byte(tc.json), &c); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.entry, []string(c.Entrypoint)); d != "" {
				t.Errorf("Entrypoint (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.cmd, []string(c.Cmd)); d != "" {
				t.Errorf("Cmd (-want +got):\n%s", d)
			}
		})
	}
}

// TestPathEscaped: an image reference goes into the path escaped once, so
// an odd character reaches the engine as part of the name (not as a
// query) and a registry's slashes stay slashes.
func TestPathEscaped(t *testing.T) {
	var got []string
	c, _ := startFake(t, "1.41", func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.Path+" raw="+r.URL.RawQuery)
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"No such image"}`)
	})
	for _, ref := range []string{"localhost:5000/team/app:v1", "odd?name#x"} {
		if _, err := c.ImageInspect(ctx(t), ref); !IsNotFound(err) {
			t.Errorf("ImageInspect(%q) = %v", ref, err)
		}
	}
	want := []string{"/v1.41/images/localhost:5000/team/app:v1/json raw=", "/v1.41/images/odd?name#x/json raw="}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("paths the engine saw (-want +got):\n%s", d)
	}
}
