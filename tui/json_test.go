package tui

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bob-p2p/bob/transfer"
)

// decodeLines parses every line of out as one JSON object.
func decodeLines(t *testing.T, out []byte) []map[string]any {
	t.Helper()
	var objs []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line is not JSON: %q: %v", sc.Text(), err)
		}
		objs = append(objs, m)
	}
	return objs
}

func TestJSONEvents(t *testing.T) {
	var out bytes.Buffer
	clock := newFakeClock()
	v := newJSON(&out, testOptions(Sending), clock.now)
	for _, e := range progressEvents() {
		v.Event(e)
		clock.add(time.Second)
	}
	v.Event(transfer.Done{Files: 3, Bytes: 7_407_402, WireBytes: 4_444_441, Elapsed: 3200 * time.Millisecond, Via: "relay 192.168.1.20:9009"})
	v.Close(context.Canceled)

	objs := decodeLines(t, out.Bytes())
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o["event"].(string))
	}
	want := "code paired secured offer accepted progress progress progress progress file_done done error"
	if got := strings.Join(kinds, " "); got != want {
		t.Fatalf("events = %s\nwant     %s", got, want)
	}
	code := objs[0]
	if code["code"] != "7-guitarist-revenge" || code["command"] != "bob recv --relay 192.168.1.20:9009" {
		t.Errorf("code object = %v", code)
	}
	p := objs[8]
	if p["done"].(float64) != 2962960 || p["total"].(float64) != 7407402 || p["file"] != "holiday/photo-02.jpg" ||
		p["elapsed_ms"].(float64) != 2000 || p["bytes_per_second"].(float64) <= 0 || p["eta_ms"] == nil {
		t.Errorf("progress object = %v", p)
	}
	offer := objs[3]
	if offer["files"].(float64) != 3 || len(offer["entries"].([]any)) != 4 {
		t.Errorf("offer object = %v", offer)
	}
	if e := objs[len(objs)-1]; e["cancelled"] != true || e["message"] == "" {
		t.Errorf("error object = %v", e)
	}
}

func TestJSONProgressRate(t *testing.T) {
	var out bytes.Buffer
	clock := newFakeClock()
	v := newJSON(&out, Options{}, clock.now)
	// 10 seconds of progress events, 100 a second.
	for i := 0; i < 1000; i++ {
		v.Event(transfer.Progress{Done: int64(i), Total: 1000, Elapsed: time.Duration(i) * 10 * time.Millisecond})
		clock.add(10 * time.Millisecond)
	}
	objs := decodeLines(t, out.Bytes())
	if len(objs) != 40 {
		t.Fatalf("%d progress objects in 10 s, want 40 (4 a second)", len(objs))
	}
	// No window of one second holds more than four.
	var times []float64
	for _, o := range objs {
		times = append(times, o["elapsed_ms"].(float64))
	}
	for i := 4; i < len(times); i++ {
		if times[i]-times[i-4] < 1000 {
			t.Fatalf("five progress objects within one second: %v", times[i-4:i+1])
		}
	}
}

func TestJSONHostile(t *testing.T) {
	var out bytes.Buffer
	v := newJSON(&out, Options{Role: Receiving}, newFakeClock().now)
	o := transfer.OfferReceived{Files: 1, TotalBytes: 10, Entries: []transfer.OfferEntry{{Path: hostile, Size: 10}}}
	v.Event(o)
	v.Event(transfer.Progress{Done: 5, Total: 10, File: hostile, FileIndex: 1, Files: 1, Elapsed: time.Second})
	v.Event(transfer.FileDone{Path: hostile, Size: 10})
	v.Event(transfer.Skipped{Path: hostile, Reason: hostile})
	v.Event(transfer.TextReceived{Text: hostile})
	v.Event(transfer.Done{Files: 1, Bytes: 10, OutDir: hostile, Via: hostile})
	v.Event(transfer.Changed{Path: hostile, Sent: 10, Now: 12})
	v.Close(errors.New(hostile))

	raw := out.String()
	if strings.ContainsAny(raw, "\x1b\x07") {
		t.Fatalf("JSON output has raw control bytes: %q", raw)
	}
	objs := decodeLines(t, out.Bytes())
	if len(objs) != 8 {
		t.Fatalf("%d objects, want 8 (a name with a newline must not split a line):\n%s", len(objs), raw)
	}
	escaped := `evil\x1b]0;pwned\a\nname.txt`
	for _, got := range []any{
		objs[0]["entries"].([]any)[0].(map[string]any)["path"], objs[1]["file"], objs[2]["path"],
		objs[3]["path"], objs[3]["reason"], objs[4]["text"], objs[5]["out_dir"], objs[5]["via"], objs[6]["path"], objs[7]["message"],
	} {
		if got != escaped {
			t.Errorf("decoded string = %q, want the escaped %q", got, escaped)
		}
	}
}

func TestJSONAcceptNeedsYes(t *testing.T) {
	var out bytes.Buffer
	v := NewJSON(&out, Options{Role: Receiving})
	o := sampleOffer(2)
	v.Event(o)
	ok, err := v.Accept(context.Background(), o)
	if ok || !errors.Is(err, ErrNeedYes) {
		t.Fatalf("Accept = %v, %v; want false, ErrNeedYes", ok, err)
	}
	if n := strings.Count(out.String(), `"event":"offer"`); n != 1 {
		t.Fatalf("offer written %d times, want once:\n%s", n, out.String())
	}
}

func TestJSONFieldNames(t *testing.T) {
	// The field names are a documented interface: changing one breaks scripts.
	var out bytes.Buffer
	clock := newFakeClock()
	v := newJSON(&out, Options{}, clock.now)
	v.Event(transfer.CodeReady{Code: "7-a-b", Relay: "r:1", Hints: []string{"h:1"}})
	v.Event(transfer.Connecting{Relay: "r:1"})
	v.Event(transfer.Secured{Cipher: "c"})
	v.Event(transfer.Accepted{ResumeBytes: 3})
	v.Event(transfer.Progress{Done: 0, Total: 2, File: "f", FileIndex: 1, Files: 1, Elapsed: time.Second / 2})
	clock.add(time.Second)
	v.Event(transfer.Progress{Done: 1, Total: 2, WireBytes: 1, File: "f", FileIndex: 1, Files: 1, Elapsed: time.Second})
	v.Event(transfer.Changed{Path: "f", Sent: 2, Now: 3})
	v.Event(transfer.Done{Files: 1, Bytes: 2, WireBytes: 1, Elapsed: time.Second, OutDir: "d", Via: "v", Resumed: 1})
	want := []string{
		`{"event":"code","code":"7-a-b","command":"bob recv 7-a-b","relay":"r:1","hints":["h:1"]}`,
		`{"event":"connecting","relay":"r:1"}`,
		`{"event":"secured","cipher":"c"}`,
		`{"event":"accepted","resume_bytes":3}`,
		// One point gives no speed yet, so no time left either.
		`{"event":"progress","done":0,"total":2,"wire_bytes":0,"file":"f","file_index":1,"files":1,"elapsed_ms":500,"bytes_per_second":0}`,
		`{"event":"progress","done":1,"total":2,"wire_bytes":1,"file":"f","file_index":1,"files":1,"elapsed_ms":1000,"bytes_per_second":2,"eta_ms":500}`,
		`{"event":"changed","path":"f","sent":2,"size_now":3}`,
		`{"event":"done","files":1,"bytes":2,"wire_bytes":1,"elapsed_ms":1000,"out_dir":"d","via":"v","resumed":1}`,
	}
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestJSONOfferHidden: the offer object flags issue 18's hidden writes
// (item 2) entry by entry.
func TestJSONOfferHidden(t *testing.T) {
	var out bytes.Buffer
	v := newJSON(&out, Options{Role: Receiving}, newFakeClock().now)
	o := hiddenWritesOffer()
	o.Entries[0].Replaces = true
	v.Event(o)
	objs := decodeLines(t, out.Bytes())
	entries := objs[0]["entries"].([]any)
	if len(entries) != 12 {
		t.Fatalf("%d entries, want 12", len(entries))
	}
	flags := map[string]string{}
	for _, e := range entries {
		obj := e.(map[string]any)
		flags[obj["path"].(string)] = fmt.Sprint(obj["hidden"], obj["exists"], obj["in_existing"], obj["replaces"])
	}
	want := map[string]string{
		"photo-1.jpg":          "<nil> <nil> <nil> true",
		"photo-2.jpg":          "<nil> <nil> <nil> <nil>",
		".ssh":                 "true true <nil> <nil>",
		".ssh/authorized_keys": "true <nil> true <nil>",
		".bash_profile":        "true <nil> <nil> <nil>",
	}
	for p, w := range want {
		if flags[p] != w {
			t.Errorf("%s: hidden, exists, in_existing, replaces = %s; want %s", p, flags[p], w)
		}
	}
}
