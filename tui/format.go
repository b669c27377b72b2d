package tui

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/bob-p2p/bob/internal/safeterm"
	"github.com/bob-p2p/bob/internal/units"
	"github.com/bob-p2p/bob/transfer"
)

// speedHalfLife is how quickly the shown speed follows a change in the real
// one: after this long a new rate counts for half of what is shown.
const speedHalfLife = 2 * time.Second

// ewma folds one rate sample, measured over dt, into the previous smoothed
// rate. The weight of the sample grows with dt, so irregular event spacing
// does not skew the result. A zero prev with no history takes the sample.
func ewma(prev, sample float64, dt, halfLife time.Duration) float64 {
	if dt <= 0 {
		return prev
	}
	if halfLife <= 0 {
		return sample
	}
	alpha := 1 - math.Exp2(-float64(dt)/float64(halfLife))
	return prev + alpha*(sample-prev)
}

// eta is the time left to move remaining bytes at rate bytes per second. ok
// is false when it cannot be known (unknown total, no speed yet).
func eta(remaining int64, rate float64) (d time.Duration, ok bool) {
	if remaining < 0 || rate <= 0 || math.IsNaN(rate) || math.IsInf(rate, 0) {
		return 0, false
	}
	secs := float64(remaining) / rate
	if secs > float64(math.MaxInt64/int64(time.Second)) {
		return 0, false
	}
	return time.Duration(secs * float64(time.Second)), true
}

// speedMeter turns successive Progress events into the speed shown. It uses
// the Elapsed time carried by the events, not a clock, so it is
// deterministic. For the first speedHalfLife after the first event it shows
// the plain average since that event: an average from the session's start
// would count the wait for the other side to accept, and an exponential
// average seeded that early lags the real speed for seconds (a 0.6 s
// transfer at 480 MB/s showed 67 MB/s). After that it smooths with an
// exponential average, so it follows a change within seconds without
// jumping at every event.
type speedMeter struct {
	started      bool
	firstMoved   int64
	firstElapsed time.Duration
	lastMoved    int64
	lastElapsed  time.Duration
	rate         float64 // bytes per second; 0 while unknown
}

// observe records that moved bytes had crossed the channel after elapsed,
// and returns the speed to show. Bytes the receiver already held (resumed)
// never cross and must not be counted.
func (s *speedMeter) observe(moved int64, elapsed time.Duration) float64 {
	if !s.started {
		s.started = true
		s.firstMoved, s.firstElapsed = moved, elapsed
		s.lastMoved, s.lastElapsed = moved, elapsed
		return s.rate
	}
	dt := elapsed - s.lastElapsed
	if dt <= 0 {
		return s.rate
	}
	if span := elapsed - s.firstElapsed; span < speedHalfLife {
		s.rate = max(0, float64(moved-s.firstMoved)/span.Seconds())
	} else {
		sample := max(0, float64(moved-s.lastMoved)/dt.Seconds())
		s.rate = ewma(s.rate, sample, dt, speedHalfLife)
	}
	s.lastMoved, s.lastElapsed = moved, elapsed
	return s.rate
}

// decayed is the speed to show when no event has come for quiet: events
// arrive several times a second while data moves, so a longer silence is
// time with no data, and the speed falls toward zero as it would had an
// event said so. A shorter gap keeps the last speed, so it does not flicker.
func (s *speedMeter) decayed(quiet time.Duration) float64 {
	if quiet <= time.Second {
		return s.rate
	}
	return ewma(s.rate, 0, quiet, speedHalfLife)
}

// stallAfter is how long without new data before a transfer is said to
// be stalled rather than slow.
const stallAfter = 3 * time.Second

// stallWatch notes when data last moved, by the view's clock.
type stallWatch struct {
	seen     bool
	lastDone int64
	lastData time.Time // when Done last grew
	lastSeen time.Time // when the last progress event came
}

// observe records a progress event's Done at now.
func (w *stallWatch) observe(done int64, now time.Time) {
	if !w.seen || done > w.lastDone {
		w.lastData = now
	}
	w.seen, w.lastDone, w.lastSeen = true, done, now
}

// quiet is how long no progress event has come.
func (w *stallWatch) quiet(now time.Time) time.Duration {
	if !w.seen {
		return 0
	}
	return now.Sub(w.lastSeen)
}

// stalled says how long no data has moved, once that is stallAfter or
// more.
func (w *stallWatch) stalled(now time.Time) (time.Duration, bool) {
	if !w.seen {
		return 0, false
	}
	d := now.Sub(w.lastData)
	return d, d >= stallAfter
}

// stalledNote says that no data has moved for d.
func stalledNote(d time.Duration) string {
	return "stalled, waiting for data (" + formatDuration(d) + ")"
}

// averageRate is bytes per second over the whole of elapsed.
func averageRate(bytes int64, elapsed time.Duration) float64 {
	if elapsed <= 0 || bytes <= 0 {
		return 0
	}
	return float64(bytes) / elapsed.Seconds()
}

// formatDuration shows a duration the way a person reads a countdown:
// "0s", "42s", "3m05s", "2h07m".
func formatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	secs := int64(d.Round(time.Second) / time.Second)
	switch {
	case secs < 60:
		return fmt.Sprintf("%ds", secs)
	case secs < 3600:
		return fmt.Sprintf("%dm%02ds", secs/60, secs%60)
	default:
		return fmt.Sprintf("%dh%02dm", secs/3600, (secs%3600)/60)
	}
}

// formatElapsed is like formatDuration but keeps a tenth of a second for
// short transfers, where "0s" would say nothing.
func formatElapsed(d time.Duration) string {
	if d > 0 && d < time.Second {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	if d > 0 && d < 10*time.Second {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return formatDuration(d)
}

// size is a byte count for people: "12 MB" (SI units, as everywhere bob
// shows sizes; see internal/units).
func size(n int64) string { return units.Size(n) }

// rate is a speed for people: "2.1 MB/s".
func rate(bytesPerSecond float64) string { return units.Rate(bytesPerSecond) }

// plainRate is rate with only ASCII, for plain output.
func plainRate(bytesPerSecond float64) string {
	r := rate(bytesPerSecond)
	return strings.ReplaceAll(r, "–", "-")
}

// fraction is done/total clamped to [0, 1]; 0 when total is unknown.
func fraction(done, total int64) float64 {
	if total <= 0 {
		if total == 0 && done >= 0 {
			return 1
		}
		return 0
	}
	f := float64(done) / float64(total)
	return math.Max(0, math.Min(1, f))
}

// compressionSaving is the share of payload bytes that did not cross the
// wire, in [0, 1). ok is false when compression saved nothing worth showing.
func compressionSaving(payload, wire int64) (saving float64, ok bool) {
	if payload <= 0 || wire <= 0 || wire >= payload {
		return 0, false
	}
	s := 1 - float64(wire)/float64(payload)
	if s < 0.005 {
		return 0, false
	}
	return s, true
}

// plural picks the singular or plural form of a noun for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// offerWhat says what an offer holds: "3 files and 1 folder (12 MB)",
// "a text message (20 B)", "a stream of unknown size".
func offerWhat(o transfer.OfferReceived) string {
	switch {
	case o.IsText:
		return fmt.Sprintf("a text message (%s)", size(o.TotalBytes))
	case o.IsStream:
		return "a stream of unknown size"
	}
	what := plural(o.Files, "file", "files")
	if o.Folders > 0 {
		what += " and " + plural(o.Folders, "folder", "folders")
	}
	return fmt.Sprintf("%s (%s)", what, size(o.TotalBytes))
}

// entryLine shows one offer entry, its peer-chosen path escaped.
func entryLine(e transfer.OfferEntry) string {
	if e.IsDir {
		return entryName(e)
	}
	return fmt.Sprintf("%s (%s)", safeterm.Escape(e.Path), size(e.Size))
}

// wrapCommand breaks a shell command at spaces so that no line is wider
// than width, ending each broken line with " \" so that the lines still
// paste into a shell as one command. A word wider than width stays whole.
func wrapCommand(cmd string, width int) []string {
	if width <= 2 || len(cmd) <= width {
		return []string{cmd}
	}
	words := strings.Fields(cmd)
	var lines []string
	line := ""
	for _, w := range words {
		switch {
		case line == "":
			line = w
		case len(line)+1+len(w)+2 <= width:
			line += " " + w
		default:
			lines = append(lines, line+" \\")
			line = "  " + w
		}
	}
	return append(lines, line)
}

// skippedLine shows an entry the sender left out, its path escaped.
func skippedLine(e transfer.Skipped) string {
	return fmt.Sprintf("%s (%s)", safeterm.Escape(e.Path), safeterm.Escape(e.Reason))
}

// changedLine says what became of a file written to while it was sent,
// its path escaped.
func changedLine(e transfer.Changed) string {
	return fmt.Sprintf("%s changed while it was being sent: the receiver has the %s offered, as they were read (the file is %s now)",
		safeterm.Escape(e.Path), size(e.Sent), size(e.Now))
}

// changedEntry is a file written to while it was sent, for a list under
// changedNote, its path escaped.
func changedEntry(e transfer.Changed) string {
	return fmt.Sprintf("%s (%s offered, %s now)", safeterm.Escape(e.Path), size(e.Sent), size(e.Now))
}

// changedNote heads the list of changedEntry lines.
func changedNote(n int) string {
	return fmt.Sprintf("%s changed while being sent; the receiver has what was read:", plural(n, "file", "files"))
}

// skippedNote is the one-line mention of entries left out of an offer.
func skippedNote(n int) string {
	return fmt.Sprintf("left out %s that cannot be sent (links, special files, unreadable)", plural(n, "entry", "entries"))
}

// entryNote says what is worth a second look about an offered entry (""
// when nothing is): a hidden name, a folder already in the output folder,
// a write into one (issue 18, item 2).
func entryNote(e transfer.OfferEntry) string {
	var notes []string
	if e.Hidden {
		notes = append(notes, "hidden name")
	}
	if e.Exists {
		notes = append(notes, "folder already here")
	}
	if e.InExisting {
		notes = append(notes, "into a folder already here")
	}
	if e.Clash {
		notes = append(notes, "a file of this name is here")
	}
	if e.Replaces {
		notes = append(notes, "replaces the file here")
	}
	return strings.Join(notes, ", ")
}

// offerEntryLine is an entry as the offer lists it: its line, and its note
// after "!" (styled by note).
func offerEntryLine(e transfer.OfferEntry, stream bool, note func(...string) string) string {
	line := entryLine(e)
	if stream { // its size is not known: its name is what there is to show
		line = safeterm.Escape(e.Path) + " (a stream)"
	}
	if n := entryNote(e); n != "" {
		line += "  " + note("! "+n)
	}
	return line
}

// offerWarnings sums up the flagged entries of an offer, so that a person
// learns of them even when the list is too long to read through: files
// that exist or will be replaced, hidden names, and folders already in the
// output folder that the offer writes into, each with the first few names.
func offerWarnings(o transfer.OfferReceived) []string {
	kinds := []struct {
		flagged         func(transfer.OfferEntry) bool
		one, many, tail string
	}{
		{func(e transfer.OfferEntry) bool { return e.Clash }, "file of this name is", "files of these names are", " already here: "},
		{func(e transfer.OfferEntry) bool { return e.Replaces }, "file", "files", " already here will be replaced (--overwrite): "},
		{func(e transfer.OfferEntry) bool { return e.Hidden }, "entry has a hidden name", "entries have hidden names", " (starting with a dot): "},
		{func(e transfer.OfferEntry) bool { return e.Exists }, "folder is", "folders are", " already here and will get new files: "},
	}
	var out []string
	for _, k := range kinds {
		var first []string
		n := 0
		for _, e := range o.Entries {
			if k.flagged(e) {
				if n++; len(first) < shownNames {
					first = append(first, entryName(e))
				}
			}
		}
		if n > 0 {
			out = append(out, plural(n, k.one, k.many)+k.tail+someNames(first, n))
		}
	}
	return out
}

// entryName is an entry's escaped path, with a slash after a folder.
func entryName(e transfer.OfferEntry) string {
	if e.IsDir {
		return safeterm.Escape(e.Path) + "/"
	}
	return safeterm.Escape(e.Path)
}

// shownNames is how many names a warning lists.
const shownNames = 3

// someNames lists first, the first of n names (already escaped).
func someNames(first []string, n int) string {
	s := strings.Join(first, ", ")
	if n > len(first) {
		s += fmt.Sprintf(" and %d more", n-len(first))
	}
	return s
}

// leftOutNote says how many entries the sender left out of its offer (links,
// special files, what it may not read): "3 entries were left out by the
// sender".
func leftOutNote(n int64) string {
	if n == 1 {
		return "1 entry was left out by the sender"
	}
	return fmt.Sprintf("%d entries were left out by the sender", n)
}

// Outcomes of a file from an earlier transfer (transfer.ResumeChecked), as
// the JSON view names them.
const (
	resumeComplete = "already_complete"
	resumeResuming = "resuming"
	resumeReplaced = "replaced"
)

// resumeOutcome names what became of a file from an earlier transfer.
func resumeOutcome(e transfer.ResumeChecked) string {
	switch {
	case e.Matched && e.Held >= e.Size:
		return resumeComplete
	case e.Matched:
		return resumeResuming
	}
	return resumeReplaced
}

// resumeLine says what became of a file from an earlier transfer, its path
// escaped: "already complete", "resuming at 144 MB", or that what was here
// did not match the sender's file and was replaced.
func resumeLine(e transfer.ResumeChecked) string {
	var what string
	switch resumeOutcome(e) {
	case resumeComplete:
		what = "already complete"
	case resumeResuming:
		what = "resuming at " + size(e.Held)
	default:
		if e.Complete {
			what = "the file here did not match and was replaced"
		} else {
			what = "the " + size(e.Held) + " part file did not match and was replaced"
		}
	}
	return safeterm.Escape(e.Path) + ": " + what
}

// resumableNote is the offer's mention of what an earlier transfer left:
// it is compared with the sender's files only after accepting.
func resumableNote(n int64) string {
	return size(n) + " from an earlier transfer is here; what matches the sender's files is not sent again"
}
