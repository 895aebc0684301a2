package spec

import (
	"testing"
	"time"
)

func TestByteSizeText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    ByteSize
		wantErr bool
		text    string // MarshalText of want
	}{
		{name: "plain bytes", in: "100", want: 100, text: "100"},
		{name: "B unit", in: "100B", want: 100, text: "100"},
		{name: "KB is decimal", in: "512KB", want: 512_000, text: "512KB"},
		{name: "MB is decimal", in: "10MB", want: 10_000_000, text: "10MB"},
		{name: "MiB is binary", in: "10MiB", want: 10 << 20, text: "10MiB"},
		{name: "GB", in: "1GB", want: 1_000_000_000, text: "1GB"},
		{name: "GiB", in: "2GiB", want: 2 << 30, text: "2GiB"},
		{name: "TB", in: "3TB", want: 3 * TB, text: "3TB"},
		{name: "case and space", in: "10 mb", want: 10 * MB, text: "10MB"},
		{name: "zero", in: "0", want: 0, text: "0"},
		{name: "fraction rejected", in: "1.5GB", wantErr: true},
		{name: "negative rejected", in: "-1MB", wantErr: true},
		{name: "unknown unit", in: "10XB", wantErr: true},
		{name: "no number", in: "MB", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "overflow", in: "9999999999TB", wantErr: true},
		{name: "int64 overflow", in: "99999999999999999999", wantErr: true},
	}
	for _, tt := range tests {
		var got ByteSize
		err := got.UnmarshalText([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: UnmarshalText(%q) error = %v, wantErr %v", tt.name, tt.in, err, tt.wantErr)
			continue
		}
		if tt.wantErr {
			continue
		}
		if got != tt.want {
			t.Errorf("%s: UnmarshalText(%q) = %d, want %d", tt.name, tt.in, got, tt.want)
		}
		text, _ := got.MarshalText()
		if string(text) != tt.text {
			t.Errorf("%s: MarshalText(%d) = %q, want %q", tt.name, got, text, tt.text)
		}
		var back ByteSize
		if err := back.UnmarshalText(text); err != nil || back != got {
			t.Errorf("%s: round trip of %q = %d, %v", tt.name, text, back, err)
		}
	}
}

func TestDurationText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr bool
	}{
		{name: "seconds", in: "10s", want: 10 * time.Second},
		{name: "compound", in: "1m30s", want: 90 * time.Second},
		{name: "zero", in: "0", want: 0},
		{name: "zero with unit", in: "0s", want: 0},
		{name: "no unit", in: "10", wantErr: true},
		{name: "negative", in: "-1s", wantErr: true},
		{name: "garbage", in: "soon", wantErr: true},
	}
	for _, tt := range tests {
		var got Duration
		err := got.UnmarshalText([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: UnmarshalText(%q) error = %v, wantErr %v", tt.name, tt.in, err, tt.wantErr)
			continue
		}
		if tt.wantErr {
			continue
		}
		if got.Duration != tt.want {
			t.Errorf("%s: UnmarshalText(%q) = %v, want %v", tt.name, tt.in, got.Duration, tt.want)
		}
		text, _ := got.MarshalText()
		var back Duration
		if err := back.UnmarshalText(text); err != nil || back != got {
			t.Errorf("%s: round trip of %q = %v, %v", tt.name, text, back, err)
		}
	}
}
