package alert

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// wire is the JSON a file line, a webhook body and an exec's stdin carry.
// Text is Slack's (and Mattermost's, Discord's /slack) message field, so
// the webhook can point straight at an incoming-webhook URL.
type wire struct {
	Text     string            `json:"text"`
	State    string            `json:"state"`
	Key      string            `json:"key"`
	Severity string            `json:"severity"`
	App      string            `json:"app,omitempty"`
	Summary  string            `json:"summary"`
	Details  map[string]string `json:"details,omitempty"`
	Time     time.Time         `json:"time"`
	Host     string            `json:"host,omitempty"`
}

func payload(m Message) wire {
	return wire{
		Text: text(m), State: m.State, Key: m.Alert.Key, Severity: m.Alert.Severity,
		App: m.Alert.App, Summary: m.Alert.Summary, Details: m.Alert.Details,
		Time: m.Alert.Time.UTC(), Host: m.Host,
	}
}

// text is one human line: "[CRITICAL] host: summary (k=v, ...)".
func text(m Message) string {
	tag := strings.ToUpper(m.Alert.Severity)
	if m.State == StateResolved {
		tag = "RESOLVED"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] ", tag)
	if m.Host != "" {
		b.WriteString(m.Host + ": ")
	}
	if m.Alert.App != "" {
		b.WriteString(m.Alert.App + ": ")
	}
	b.WriteString(m.Alert.Summary)
	if len(m.Alert.Details) > 0 && m.State == StateFiring {
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(m.Alert.Details)) {
			kv = append(kv, k+"="+m.Alert.Details[k])
		}
		b.WriteString(" (" + strings.Join(kv, ", ") + ")")
	}
	return b.String()
}

// alertEnv is the environment an exec sink gets on top of berth's own.
func alertEnv(m Message) []string {
	return []string{
		"BERTH_ALERT_STATE=" + m.State,
		"BERTH_ALERT_KEY=" + m.Alert.Key,
		"BERTH_ALERT_SEVERITY=" + m.Alert.Severity,
		"BERTH_ALERT_APP=" + m.Alert.App,
		"BERTH_ALERT_SUMMARY=" + m.Alert.Summary,
		"BERTH_ALERT_TIME=" + m.Alert.Time.UTC().Format(time.RFC3339),
		"BERTH_ALERT_TEXT=" + text(m),
		"BERTH_ALERT_HOST=" + m.Host,
	}
}
