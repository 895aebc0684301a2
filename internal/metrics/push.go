package metrics

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Buckets of the push-side histograms, in seconds. A deploy takes seconds
// (restart) to many minutes (a long verify window); a probe takes a
// millisecond (tcp) to its timeout (exec checks: seconds; functional
// checks: up to a minute or so).
func deployBuckets() []float64 {
	return []float64{1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 3600}
}

func checkBuckets() []float64 {
	return []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
}

func (m *Metrics) registerPush() {
	m.deploys = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "berth_deploys_total",
		Help: "Deployments finished, by kind (deploy, rollback, restart) and outcome (succeeded, failed, rolled-back, interrupted, aborted).",
	}, []string{"app", "kind", "outcome"})
	m.deployDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "berth_deploy_duration_seconds",
		Help:    "Time from the start of a deployment to its outcome, verify window and drain included.",
		Buckets: deployBuckets(),
	}, []string{"app", "kind"})
	m.rollbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "berth_rollbacks_total",
		Help: "Rollbacks that put the previous release back live: automatic (a deploy's verify window failed) or manual (berth rollback succeeded).",
	}, []string{"app", "reason"})
	m.checks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "berth_health_checks_total",
		Help: "Health check probes run, by check, role and result (ok, failed).",
	}, []string{"app", "color", "check", "role", "result"})
	m.checkDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "berth_health_check_duration_seconds",
		Help:    "Time one health check probe took, failed ones included.",
		Buckets: checkBuckets(),
	}, []string{"app", "check"})
	m.alerts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "berth_alerts_delivered_total",
		Help: "Alert delivery attempts per sink (journal, file, webhook, exec), by result (delivered, failed); a retried alert counts each attempt.",
	}, []string{"sink", "result"})
	m.reg.MustRegister(m.deploys, m.deployDuration, m.rollbacks, m.checks, m.checkDuration, m.alerts)
}

// DeployFinished records a finished deployment of app: kind is deploy,
// rollback or restart; outcome is succeeded, failed, rolled-back,
// interrupted or aborted; took is its whole duration. A deploy that ended rolled-back
// also counts as an automatic rollback, a rollback that succeeded as a
// manual one. Call it once per deployment, when its outcome is recorded.
func (m *Metrics) DeployFinished(app, kind, outcome string, took time.Duration) {
	app, kind, outcome = clean(app), oneOf(kind, "deploy", "rollback", "restart"),
		oneOf(outcome, "succeeded", "failed", "rolled-back", "interrupted", "aborted")
	m.deploys.WithLabelValues(app, kind, outcome).Inc()
	m.deployDuration.WithLabelValues(app, kind).Observe(took.Seconds())
	switch {
	case outcome == "rolled-back":
		m.rollbacks.WithLabelValues(app, "automatic").Inc()
	case kind == "rollback" && outcome == "succeeded":
		m.rollbacks.WithLabelValues(app, "manual").Inc()
	}
}

// CheckResult records one probe of check (its name in berth.toml) with
// role startup, liveness, readiness or functional against app's color.
func (m *Metrics) CheckResult(app, color, check, role string, ok bool, took time.Duration) {
	app, check = clean(app), clean(check)
	m.checks.WithLabelValues(app, clean(color), check, oneOf(role, "startup", "liveness", "readiness", "functional"), result(ok, "ok")).Inc()
	m.checkDuration.WithLabelValues(app, check).Observe(took.Seconds())
}

// AlertDelivered records one attempt to deliver an alert to sink (journal,
// file, webhook or exec).
func (m *Metrics) AlertDelivered(sink string, ok bool) {
	m.alerts.WithLabelValues(oneOf(sink, "journal", "file", "webhook", "exec"), result(ok, "delivered")).Inc()
}

func result(ok bool, yes string) string {
	if ok {
		return yes
	}
	return "failed"
}

// oneOf returns v when it is in set, else "other": label values stay in a
// bounded set, so a caller's typo cannot mint new series.
func oneOf(v string, set ...string) string {
	for _, s := range set {
		if v == s {
			return v
		}
	}
	return "other"
}

// clean makes v a valid label value: the client panics on invalid UTF-8,
// and a metric call must never bring the daemon down.
func clean(v string) string {
	return strings.ToValidUTF8(v, "\uFFFD")
}
