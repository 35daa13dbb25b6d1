package capture

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// Two records as FreeBSD/amd64 returns them from read(2) on an Ethernet
// interface: each struct bpf_hdr (timeval of two 8-byte words, caplen,
// datalen, hdrlen) is padded to bh_hdrlen 26 so that the IP header after
// the 14-byte Ethernet header lands on an 8-byte boundary, and each record
// is padded to a multiple of 8. The frames are 20 and 14 bytes.
var bpfBufferAMD64 = []byte{
	// record 1 at 0: 1700000000.000123, caplen 20, datalen 60, hdrlen 26
	0x00, 0xf1, 0x53, 0x65, 0x00, 0x00, 0x00, 0x00, // tv_sec
	0x7b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // tv_usec
	0x14, 0x00, 0x00, 0x00, // bh_caplen
	0x3c, 0x00, 0x00, 0x00, // bh_datalen
	0x1a, 0x00, // bh_hdrlen
	// frame: 20 bytes
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14,
	// padding to 48 (BPF_WORDALIGN(26+20))
	0x00, 0x00,
	// record 2 at 48: 1700000001.999999, caplen 14, datalen 14, hdrlen 26
	0x01, 0xf1, 0x53, 0x65, 0x00, 0x00, 0x00, 0x00,
	0x3f, 0x42, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x0e, 0x00, 0x00, 0x00,
	0x0e, 0x00, 0x00, 0x00,
	0x1a, 0x00,
	0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae,
}

// One record as FreeBSD/i386 returns it on lo0 (DLT_NULL, 4-byte header):
// a timeval of two 4-byte words, bh_hdrlen 20 (BPF_WORDALIGN(4+18)-4).
var bpfBufferI386 = []byte{
	0x00, 0xf1, 0x53, 0x65, // tv_sec
	0x3f, 0x42, 0x0f, 0x00, // tv_usec 999999
	0x08, 0x00, 0x00, 0x00, // bh_caplen
	0x08, 0x00, 0x00, 0x00, // bh_datalen
	0x14, 0x00, // bh_hdrlen 20
	0x00, 0x00, // padding to bh_hdrlen
	0x02, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00, 0x3c,
}

func TestBPFRecords(t *testing.T) {
	type record struct {
		data []byte
		ts   time.Time
	}
	tests := []struct {
		name    string
		layout  *bpfHdrLayout
		buf     []byte
		want    []record
		wantErr bool
	}{
		{"amd64, two records", &bpfLayoutLP64, bpfBufferAMD64, []record{
			{bpfBufferAMD64[26:46], time.Unix(1700000000, 123000)},
			{bpfBufferAMD64[48+26:], time.Unix(1700000001, 999999000)},
		}, false},
		{"i386, one record", &bpfLayoutI386, bpfBufferI386, []record{
			{bpfBufferI386[20:], time.Unix(1700000000, 999999000)},
		}, false},
		{"empty read", &bpfLayoutLP64, nil, nil, false},
		{"second record header cut", &bpfLayoutLP64, bpfBufferAMD64[:48+20], []record{
			{bpfBufferAMD64[26:46], time.Unix(1700000000, 123000)},
		}, true},
		{"second record frame cut", &bpfLayoutLP64, bpfBufferAMD64[:len(bpfBufferAMD64)-1], []record{
			{bpfBufferAMD64[26:46], time.Unix(1700000000, 123000)},
		}, true},
		{"header length shorter than the header", &bpfLayoutLP64, func() []byte {
			b := slices.Clone(bpfBufferAMD64)
			b[24] = 10
			return b
		}(), nil, true},
		{"caplen beyond the buffer", &bpfLayoutLP64, func() []byte {
			b := slices.Clone(bpfBufferAMD64)
			b[16], b[17] = 0xff, 0xff
			return b
		}(), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bpfRecords{layout: tt.layout, buf: tt.buf}
			var got []record
			var err error
			for {
				data, ts, ok, e := r.next()
				if e != nil {
					err = e
				}
				if !ok {
					break
				}
				got = append(got, record{data, ts})
			}
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, errBPFBuffer)) {
				t.Errorf("error = %v, want error %v", err, tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d records, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !slices.Equal(got[i].data, tt.want[i].data) || !got[i].ts.Equal(tt.want[i].ts) {
					t.Errorf("record %d mismatch (-want +got):\n-% x at %v\n+% x at %v", i, tt.want[i].data, tt.want[i].ts, got[i].data, got[i].ts)
				}
			}
		})
	}
}

func FuzzBPFRecords(f *testing.F) {
	f.Add(false, bpfBufferAMD64)
	f.Add(true, bpfBufferI386)
	f.Fuzz(func(t *testing.T, i386 bool, buf []byte) {
		layout := &bpfLayoutLP64
		if i386 {
			layout = &bpfLayoutI386
		}
		r := bpfRecords{layout: layout, buf: buf}
		for n := 0; ; n++ {
			before := r.off
			data, _, ok, err := r.next()
			if !ok {
				if r.off < len(buf) {
					t.Fatalf("stopped at offset %d of %d (error %v)", r.off, len(buf), err)
				}
				return
			}
			if r.off <= before {
				t.Fatalf("no progress at offset %d", before)
			}
			// The frame lies inside the record just consumed.
			if len(data) > r.off-before {
				t.Fatalf("a %d-byte frame from a %d-byte record", len(data), r.off-before)
			}
			if n > len(buf) {
				t.Fatalf("more records than bytes")
			}
		}
	})
}
