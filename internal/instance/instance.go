// Package instance is the typed identity of one running copy of an app: the
// app, the color (the release slot, blue or green) and the index within
// that color (0..N-1 for `[deploy] instances = N`). Its String form is the
// runtime's instance id and its Slot form names what belongs to the
// instance inside the app (log file, heartbeat file, port, proxy target).
//
// Index 0 keeps the names berth used before instances existed ("app.blue",
// "blue.log"), so homes made by an older berth keep working.
//
// An ID is a plain value, safe to copy and to use concurrently.
package instance

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalid is returned for text that is not an instance id or slot.
var ErrInvalid = errors.New("not an instance id")

// ID names one instance.
type ID struct {
	App   string
	Color string
	Index int
}

// New returns the ID of app's instance index of color.
func New(app, color string, index int) ID { return ID{App: app, Color: color, Index: index} }

// String is the runtime id: "app.color" for index 0, "app.color.index"
// after it.
func (id ID) String() string { return id.App + "." + id.Slot() }

// Slot is the instance's name inside its app: "color" for index 0,
// "color.index" after it.
func (id ID) Slot() string {
	if id.Index == 0 {
		return id.Color
	}
	return id.Color + "." + strconv.Itoa(id.Index)
}

// Parse reads a runtime id made by String. App names have no dots, so the
// first dot ends the app.
func Parse(s string) (ID, error) {
	app, slot, ok := strings.Cut(s, ".")
	if !ok || app == "" {
		return ID{}, fmt.Errorf("parsing instance id %q: %w", s, ErrInvalid)
	}
	return ParseSlot(app, slot)
}

// ParseSlot reads app's slot name made by Slot.
func ParseSlot(app, slot string) (ID, error) {
	color, idx, hasIdx := strings.Cut(slot, ".")
	if color == "" || strings.Contains(idx, ".") {
		return ID{}, fmt.Errorf("parsing instance slot %q: %w", slot, ErrInvalid)
	}
	id := ID{App: app, Color: color}
	if hasIdx {
		n, err := strconv.Atoi(idx)
		if err != nil || n <= 0 || strconv.Itoa(n) != idx {
			return ID{}, fmt.Errorf("parsing instance slot %q: %w", slot, ErrInvalid)
		}
		id.Index = n
	}
	return id, nil
}

// Of lists the IDs of instances 0..n-1 of app's color.
func Of(app, color string, n int) []ID {
	out := make([]ID, 0, max(n, 1))
	for i := range max(n, 1) {
		out = append(out, New(app, color, i))
	}
	return out
}
