package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/deploy"
)

// hostNotes describes an app's front door hosts for `berth status`:
// "hosts a.example.com (acme, cert until 2027-03-01, 120 req, 0 err)".
func hostNotes(hosts []deploy.HostStatus) string {
	if len(hosts) == 0 {
		return ""
	}
	parts := make([]string, 0, len(hosts))
	for _, h := range hosts {
		cert := ""
		switch {
		case h.TLS == "off":
		case h.CertError != "":
			cert = ", CERT FAILED: " + h.CertError
		case h.CertExpiry.IsZero():
			cert = ", no certificate yet"
		default:
			cert = ", cert until " + h.CertExpiry.UTC().Format(time.DateOnly)
		}
		parts = append(parts, fmt.Sprintf("%s (%s%s, %d req, %d err)", h.Host, h.TLS, cert, h.Requests, h.Errors))
	}
	return " hosts " + strings.Join(parts, ", ")
}
