package transfer

import "time"

// Event is something a transfer reports while it runs. The CLI and the
// terminal UI are views over a stream of events; no protocol logic lives there.
// Every string in an event that came from the peer (names, text) is raw: views
// must escape it before printing (see internal/safeterm).
type Event interface{ isEvent() }

// CodeReady: the sender has a nameplate and its code can be shown.
type CodeReady struct {
	Code  string   // e.g. "7-guitarist-revenge"
	Relay string   // relay address the receiver should use ("" if the default works)
	Hints []string // extra relay addresses to try (embedded relay: this machine's addresses)
}

// Connecting: dialling the relay.
type Connecting struct{ Relay string }

// Paired: the relay joined both peers; the key exchange starts.
type Paired struct{}

// Secured: the PAKE and the Noise handshake succeeded.
type Secured struct{ Cipher string }

// PathChosen: the data goes straight to the peer, or through the relay.
type PathChosen struct {
	Direct bool
	Relay  string // the relay's HOST:PORT, when not direct
	Peer   string // the peer's address, when direct
	// Kind is which of the peer's addresses won, when direct: "local" (an
	// address of its own) or "reflexive" (its NAT's mapping, punched
	// through).
	Kind string
}

// OfferEntry is one entry of an offer as shown to a person.
type OfferEntry struct {
	Path  string // slash-separated relative path, raw
	Size  int64
	IsDir bool
	// Hidden: a component of Path starts with a dot (.ssh/authorized_keys,
	// .bash_profile), which most file lists do not show.
	Hidden bool
	// Exists (receiver, folders): the folder is already in the output
	// folder; what the offer puts in it goes among what is there.
	Exists bool
	// InExisting (receiver): the entry is written into a folder of the
	// offer that is already in the output folder.
	InExisting bool
	// Clash (receiver, files): a file of this name is already in the
	// output folder; the person chooses what happens (ReceiveOptions.Clash).
	Clash bool
	// Replaces (receiver, files, with Overwrite): the file of this name
	// in the output folder will be replaced.
	Replaces bool
}

// OfferReceived (receiver) / OfferSent (sender): what is about to move.
type OfferReceived struct {
	Files, Folders int
	TotalBytes     int64
	// Entries: the receiver gets every entry of the offer, so that a
	// person can see all of it before accepting; the sender's own view
	// gets the first few hundred.
	Entries   []OfferEntry
	IsText    bool
	IsStream  bool  // size unknown (stdin)
	Resumable int64 // bytes already present as .bob-part that will not be sent again
	// LeftOut is how many entries the sender says it left out of the
	// offer (links, special files, what it may not read), at most
	// 1<<30: the peer's word, for the person.
	LeftOut int64
	// Text is a short text's content (at most 512 bytes), raw,
	// carried in the offer so that it can be read before accepting; ""
	// for longer texts and older senders. The text received must match.
	Text string
}

// OfferSent mirrors OfferReceived on the sender side.
type OfferSent OfferReceived

// Accepted: the receiver accepted; data starts to flow.
type Accepted struct{ ResumeBytes int64 }

// ResumeChecked (receiver): what became of a file from an earlier transfer
// found in the output folder, once its bytes were compared with the
// sender's (on the receiver's machine: nothing computed from them is sent
// unless they match). One per such file, before Accepted. Path is raw.
type ResumeChecked struct {
	Path     string
	Size     int64 // the offered file's size
	Held     int64 // bytes that were here: the whole file or a part file's
	Complete bool  // the whole file was here under its own name, not a part file
	// Matched: they are the sender's bytes, kept and not sent again. If
	// not, a part file is replaced, and a complete file too (only with
	// overwriting allowed; otherwise the transfer stops).
	Matched bool
}

// Progress of the whole transfer. Emitted at most a few times a second.
type Progress struct {
	Done, Total int64 // payload bytes (uncompressed); Total < 0 when unknown
	// Resumed is the part of Done the receiver already holds: it never
	// crosses. It counts every claim from the start and drops a claim the
	// sender turns down (its file changed): it can go down.
	Resumed int64
	// WireBytes is the files' data as it crossed, after compression: the
	// payloads of data records, counted the same way on both sides (control
	// records such as the offer are not counted).
	WireBytes int64
	File      string
	FileIndex int // 1-based
	Files     int
	Elapsed   time.Duration // since the offer was accepted
}

// FileDone: one file arrived complete and verified (receiver) or was
// acknowledged (sender).
type FileDone struct {
	Path string
	Size int64
}

// Skipped (sender): something inside a sent folder was left out of the
// offer, such as a symbolic link or a special file. Path is raw.
type Skipped struct {
	Path   string
	Reason string // "symbolic link", "special file"
}

// Changed (sender): a file was written to after it was offered. The
// receiver gets, verified, the Sent bytes bob read, which may mix old and
// new content; Now is the file's size now (the offer announced Sent bytes,
// so more cannot be sent). Path is raw.
type Changed struct {
	Path      string
	Sent, Now int64
}

// TextReceived carries a text message (bob send --text).
type TextReceived struct{ Text string }

// Done: the transfer finished and the receipt was exchanged.
type Done struct {
	Files     int
	Bytes     int64
	WireBytes int64         // as in Progress: the same count on both sides
	Elapsed   time.Duration // since the offer was accepted: the answer's wait is not counted
	OutDir    string        // receiver: where the files went
	Via       string        // "direct" or "relay" (set by package session)
	Relay     string        // the relay's HOST:PORT, when Via is "relay"
	Resumed   int64         // bytes not sent because the receiver had them
}

func (CodeReady) isEvent()     {}
func (Connecting) isEvent()    {}
func (Paired) isEvent()        {}
func (Secured) isEvent()       {}
func (PathChosen) isEvent()    {}
func (OfferReceived) isEvent() {}
func (OfferSent) isEvent()     {}
func (Accepted) isEvent()      {}
func (Progress) isEvent()      {}
func (ResumeChecked) isEvent() {}
func (FileDone) isEvent()      {}
func (TextReceived) isEvent()  {}
func (Skipped) isEvent()       {}
func (Changed) isEvent()       {}
func (Done) isEvent()          {}
