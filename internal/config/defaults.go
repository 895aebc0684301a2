package config

import (
	"time"

	"github.com/berth-dev/berth/internal/tomlconf"
)

// applyDefaults fills what the file left out. It asks the tree whether a key
// was written rather than testing for zero values, so an explicit "0%" or
// "0s" (a threshold or time-to-full turned off) is kept. root may be nil.
func applyDefaults(d *Daemon, root *tomlconf.Node) {
	if root.Field("admin").Field("listen") == nil {
		d.Admin.Listen = DefaultAdminListen
	}
	disks := root.Field("disk").Items()
	for i := range d.Disk {
		var t *tomlconf.Node
		if i < len(disks) {
			t = disks[i]
		}
		diskDefaults(&d.Disk[i], t)
	}
	frontDefaults(&d.Front, root.Field("front"))
	alerts := root.Field("alert").Items()
	for i := range d.Alert {
		var t *tomlconf.Node
		if i < len(alerts) {
			t = alerts[i]
		}
		alertDefaults(&d.Alert[i], t)
	}
}

func diskDefaults(d *Disk, t *tomlconf.Node) {
	setPct(&d.Warn, t, "warn", DefaultDiskWarn)
	setPct(&d.Critical, t, "critical", DefaultDiskCritical)
	setPct(&d.InodesWarn, t, "inodes_warn", DefaultInodesWarn)
	setPct(&d.InodesCritical, t, "inodes_critical", DefaultInodesCritical)
	setDur(&d.Interval, t, "interval", DefaultDiskInterval)
	if t.Field("for") == nil {
		d.For = DefaultDiskFor
	}
	setDur(&d.TimeToFull, t, "time_to_full", DefaultTimeToFull)
	setDur(&d.Window, t, "window", DefaultGrowthWindow)
	setDur(&d.Timeout, t, "timeout", DefaultStatfsTimeout)
}

func alertDefaults(a *Alert, t *tomlconf.Node) {
	setDur(&a.Timeout, t, "timeout", DefaultAlertTimeout)
	if t.Field("retries") == nil {
		a.Retries = DefaultAlertRetries
	}
	if t.Field("min_severity") == nil {
		a.MinSeverity = SeverityWarning
	}
}

func setPct(dst *Percent, t *tomlconf.Node, key string, def Percent) {
	if t.Field(key) == nil {
		*dst = def
	}
}

func setDur(dst *Duration, t *tomlconf.Node, key string, def time.Duration) {
	if t.Field(key) == nil {
		dst.Duration = def
	}
}
