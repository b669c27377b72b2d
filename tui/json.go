package tui

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"github.com/bob-p2p/bob/internal/safeterm"
	"github.com/bob-p2p/bob/transfer"
)

// jsonProgressEvery keeps progress objects to at most four a second.
const jsonProgressEvery = 250 * time.Millisecond

// The objects NewJSON writes, one per line. Field names are stable; new
// fields may be added. Strings that came from the peer (paths, text) are
// escaped with safeterm.Escape, so they are safe to print as they are.
type (
	jsonCode struct {
		Event   string   `json:"event"` // "code"
		Code    string   `json:"code"`
		Command string   `json:"command"`         // what to run on the other machine
		Relay   string   `json:"relay,omitempty"` // relay the receiver should use
		Hints   []string `json:"hints,omitempty"` // other addresses of this machine
	}
	jsonConnecting struct {
		Event string `json:"event"` // "connecting"
		Relay string `json:"relay"`
	}
	jsonPaired struct {
		Event string `json:"event"` // "paired"
	}
	jsonSecured struct {
		Event  string `json:"event"` // "secured"
		Cipher string `json:"cipher"`
	}
	jsonPath struct {
		Event string `json:"event"` // "path"
		Via   string `json:"via"`   // "direct" or "relay"
		Relay string `json:"relay,omitempty"`
		Peer  string `json:"peer,omitempty"`
		Kind  string `json:"kind,omitempty"` // with direct: "local" or "reflexive"
	}
	jsonEntry struct {
		Path       string `json:"path"`
		Size       int64  `json:"size"`
		Dir        bool   `json:"dir,omitempty"`
		Hidden     bool   `json:"hidden,omitempty"`      // a name part starts with a dot
		Exists     bool   `json:"exists,omitempty"`      // a folder already in the output folder
		InExisting bool   `json:"in_existing,omitempty"` // written into such a folder
		Replaces   bool   `json:"replaces,omitempty"`    // with --overwrite: replaces a file here
	}
	jsonOffer struct {
		Event     string      `json:"event"` // "offer", sent or received
		Files     int         `json:"files"`
		Folders   int         `json:"folders"`
		Bytes     int64       `json:"bytes"` // -1 when unknown (stream)
		Text      bool        `json:"text,omitempty"`
		Stream    bool        `json:"stream,omitempty"`
		Resumable int64       `json:"resumable,omitempty"`
		LeftOut   int64       `json:"left_out,omitempty"` // entries the sender says it left out
		Preview   string      `json:"preview,omitempty"`  // a short text's content, escaped
		Entries   []jsonEntry `json:"entries"`            // receiver: all; sender: the first 200
	}
	jsonAccepted struct {
		Event       string `json:"event"` // "accepted"
		ResumeBytes int64  `json:"resume_bytes"`
	}
	jsonProgress struct {
		Event          string  `json:"event"` // "progress"
		Done           int64   `json:"done"`
		Total          int64   `json:"total"` // -1 when unknown
		Resumed        int64   `json:"resumed,omitempty"`
		WireBytes      int64   `json:"wire_bytes"`
		File           string  `json:"file,omitempty"`
		FileIndex      int     `json:"file_index"`
		Files          int     `json:"files"`
		ElapsedMS      int64   `json:"elapsed_ms"`
		BytesPerSecond float64 `json:"bytes_per_second"` // smoothed; 0 until known
		ETAMS          *int64  `json:"eta_ms,omitempty"` // absent when unknown
	}
	jsonFileDone struct {
		Event string `json:"event"` // "file_done"
		Path  string `json:"path"`
		Size  int64  `json:"size"`
	}
	jsonSkipped struct {
		Event  string `json:"event"` // "skipped"
		Path   string `json:"path"`
		Reason string `json:"reason"`
	}
	jsonChanged struct {
		Event   string `json:"event"` // "changed"
		Path    string `json:"path"`
		Sent    int64  `json:"sent"`     // the bytes offered, as read
		SizeNow int64  `json:"size_now"` // the file's size after it was read
	}
	jsonResume struct {
		Event   string `json:"event"` // "resume"
		Path    string `json:"path"`
		Size    int64  `json:"size"`    // the offered file's size
		Held    int64  `json:"held"`    // bytes that were here
		Outcome string `json:"outcome"` // "already_complete", "resuming" or "replaced"
		Part    bool   `json:"part"`    // what was here was a part file, not the whole file
	}
	jsonText struct {
		Event string `json:"event"` // "text"
		Text  string `json:"text"`
	}
	jsonDone struct {
		Event     string `json:"event"` // "done"
		Files     int    `json:"files"`
		Bytes     int64  `json:"bytes"`
		WireBytes int64  `json:"wire_bytes"`
		ElapsedMS int64  `json:"elapsed_ms"`
		OutDir    string `json:"out_dir,omitempty"`
		Via       string `json:"via,omitempty"`   // "direct" or "relay"
		Relay     string `json:"relay,omitempty"` // the relay's HOST:PORT when via relay
		Resumed   int64  `json:"resumed,omitempty"`
	}
	jsonError struct {
		Event     string `json:"event"`          // "error"
		Code      string `json:"code,omitempty"` // stable: the exit code's name
		Message   string `json:"message"`        // one sentence for a person
		Cancelled bool   `json:"cancelled,omitempty"`
	}
)

// jsonView writes one JSON object per line for each event.
type jsonView struct {
	opts Options
	now  func() time.Time

	mu           sync.Mutex
	enc          *json.Encoder
	offerShown   bool
	lastProgress time.Time
	meter        speedMeter
	closed       bool
}

// NewJSON returns a view for --json: one JSON object per line on out, for
// scripts. The objects are, by "event":
//
//	code        code, command, relay, hints
//	connecting  relay
//	paired
//	secured     cipher
//	offer       files, folders, bytes, text, stream, resumable, left_out, preview,
//	            entries[{path, size, dir, hidden, exists, in_existing, replaces}]
//	accepted    resume_bytes
//	progress    done, total, resumed, wire_bytes, file, file_index, files, elapsed_ms,
//	            bytes_per_second (0 until known), eta_ms (when known);
//	            at most 4 a second
//	resume      path, size, held, outcome ("already_complete", "resuming",
//	            "replaced"), part (receiver: a file an earlier transfer left)
//	file_done   path, size
//	skipped     path, reason (sender: left out of the offer)
//	text        text
//	done        files, bytes, wire_bytes, elapsed_ms, out_dir, via, resumed
//	error       message, cancelled
//
// wire_bytes is the files' data as it crossed the connection, after
// compression (the data records' payloads); sender and receiver count it
// the same way, so their done events agree.
//
// Peer strings are escaped with safeterm.Escape. JSON mode never asks the
// person anything: Accept writes the offer and returns ErrNeedYes, so the
// CLI must accept by itself when given --yes and not call Accept.
func NewJSON(out io.Writer, opts Options) View {
	return newJSON(out, opts, time.Now)
}

func newJSON(out io.Writer, opts Options, now func() time.Time) *jsonView {
	if out == nil {
		out = os.Stdout
	}
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	return &jsonView{opts: opts, now: now, enc: enc}
}

func (v *jsonView) write(obj any) {
	// A write error (closed pipe) has no one to report to but the transfer,
	// which does not depend on its log: drop it.
	_ = v.enc.Encode(obj)
}

func (v *jsonView) Event(e transfer.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return
	}
	switch e := e.(type) {
	case transfer.CodeReady:
		hints := make([]string, len(e.Hints))
		for i, h := range e.Hints {
			hints[i] = safeterm.Escape(h)
		}
		v.write(jsonCode{Event: "code", Code: safeterm.Escape(e.Code), Command: safeterm.Escape(v.opts.receiveCommand(e.Code)),
			Relay: safeterm.Escape(e.Relay), Hints: hints})
	case transfer.Connecting:
		v.write(jsonConnecting{Event: "connecting", Relay: safeterm.Escape(e.Relay)})
	case transfer.Paired:
		v.write(jsonPaired{Event: "paired"})
	case transfer.Secured:
		v.write(jsonSecured{Event: "secured", Cipher: safeterm.Escape(e.Cipher)})
	case transfer.PathChosen:
		via := "relay"
		if e.Direct {
			via = "direct"
		}
		v.write(jsonPath{Event: "path", Via: via, Relay: safeterm.Escape(e.Relay), Peer: safeterm.Escape(e.Peer), Kind: safeterm.Escape(e.Kind)})
	case transfer.OfferSent:
		v.offer(transfer.OfferReceived(e))
	case transfer.OfferReceived:
		v.offer(e)
	case transfer.Accepted:
		v.write(jsonAccepted{Event: "accepted", ResumeBytes: e.ResumeBytes})
	case transfer.Progress:
		v.progress(e)
	case transfer.FileDone:
		v.write(jsonFileDone{Event: "file_done", Path: safeterm.Escape(e.Path), Size: e.Size})
	case transfer.TextReceived:
		v.write(jsonText{Event: "text", Text: safeterm.Escape(e.Text)})
	case transfer.Skipped:
		v.write(jsonSkipped{Event: "skipped", Path: safeterm.Escape(e.Path), Reason: safeterm.Escape(e.Reason)})
	case transfer.Changed:
		v.write(jsonChanged{Event: "changed", Path: safeterm.Escape(e.Path), Sent: e.Sent, SizeNow: e.Now})
	case transfer.ResumeChecked:
		v.write(jsonResume{Event: "resume", Path: safeterm.Escape(e.Path), Size: e.Size, Held: e.Held, Outcome: resumeOutcome(e), Part: !e.Complete})
	case transfer.Done:
		v.write(jsonDone{Event: "done", Files: e.Files, Bytes: e.Bytes, WireBytes: e.WireBytes,
			ElapsedMS: e.Elapsed.Milliseconds(), OutDir: safeterm.Escape(e.OutDir), Via: safeterm.Escape(e.Via), Relay: safeterm.Escape(e.Relay), Resumed: e.Resumed})
	}
}

// offer writes the offer once per view, whether it came as an event or
// through Accept.
func (v *jsonView) offer(o transfer.OfferReceived) {
	if v.offerShown {
		return
	}
	v.offerShown = true
	entries := make([]jsonEntry, len(o.Entries))
	for i, e := range o.Entries {
		entries[i] = jsonEntry{Path: safeterm.Escape(e.Path), Size: e.Size, Dir: e.IsDir, Hidden: e.Hidden, Exists: e.Exists, InExisting: e.InExisting, Replaces: e.Replaces}
	}
	v.write(jsonOffer{Event: "offer", Files: o.Files, Folders: o.Folders, Bytes: o.TotalBytes,
		Text: o.IsText, Stream: o.IsStream, Resumable: o.Resumable, LeftOut: o.LeftOut, Preview: safeterm.Escape(o.Text), Entries: entries})
}

func (v *jsonView) progress(p transfer.Progress) {
	speed := v.meter.observe(p.Done-p.Resumed, p.Elapsed)
	now := v.now()
	if !v.lastProgress.IsZero() && now.Sub(v.lastProgress) < jsonProgressEvery {
		return
	}
	v.lastProgress = now
	obj := jsonProgress{Event: "progress", Done: p.Done, Total: p.Total, Resumed: p.Resumed, WireBytes: p.WireBytes,
		File: safeterm.Escape(p.File), FileIndex: p.FileIndex, Files: p.Files,
		ElapsedMS: p.Elapsed.Milliseconds(), BytesPerSecond: speed}
	if left, ok := eta(p.Total-p.Done, speed); ok && p.Total >= 0 {
		ms := left.Milliseconds()
		obj.ETAMS = &ms
	}
	v.write(obj)
}

// Accept writes the offer and declines with ErrNeedYes: see NewJSON.
func (v *jsonView) Accept(ctx context.Context, offer transfer.OfferReceived) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.offer(offer)
	return false, ErrNeedYes
}

// ChooseClash writes the offer and cancels with ErrNeedYes: JSON mode asks
// nothing, and files that exist are refused unless --overwrite.
func (v *jsonView) ChooseClash(ctx context.Context, offer transfer.OfferReceived) (transfer.ClashChoice, error) {
	_, err := v.Accept(ctx, offer)
	return transfer.ClashCancel, err
}

func (v *jsonView) Close(err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return
	}
	v.closed = true
	if err != nil {
		e := jsonError{Event: "error", Message: v.opts.describe(err), Cancelled: errors.Is(err, context.Canceled)}
		if v.opts.ErrorCode != nil {
			e.Code = v.opts.ErrorCode(err)
		}
		v.write(e)
	}
}

var _ View = (*jsonView)(nil)
