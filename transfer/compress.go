package transfer

import (
	"fmt"
	"path"
	"strings"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Compression says whether the sender compresses blocks with zstd.
type Compression string

// The compression modes; the zero value means CompressAuto.
const (
	CompressAuto Compression = "auto" // try, and keep what shrinks
	CompressOn   Compression = "on"   // compress every block that shrinks, even media
	CompressOff  Compression = "off"  // send every block raw
)

// ParseCompression reads a mode as a person types it (a flag's value).
func ParseCompression(s string) (Compression, error) {
	switch m := Compression(s); m {
	case CompressAuto, CompressOn, CompressOff:
		return m, nil
	}
	return "", fmt.Errorf("unknown compression mode \"%s\" (use auto, on or off)", s)
}

func checkCompress(mode Compression) error {
	if mode == "" {
		return nil
	}
	_, err := ParseCompression(string(mode))
	return err
}

// alreadyCompressed lists extensions of media and archive formats whose
// content zstd cannot shrink; auto mode sends them raw without trying.
var alreadyCompressed = func() map[string]bool {
	m := make(map[string]bool)
	for _, e := range strings.Fields(`
		jpg jpeg png gif webp heic heif avif jxl
		mp4 m4v mkv webm mov avi wmv flv mpg mpeg ts m2ts
		mp3 m4a aac ogg oga opus flac wma
		zip gz tgz bz2 tbz2 xz txz zst tzst lz4 lzma lz 7z rar cab
		jar war apk aab ipa xpi crx nupkg whl deb rpm
		docx xlsx pptx odt ods odp epub
		dmg pdf woff woff2 br sz
	`) {
		m["."+e] = true
	}
	return m
}()

func skipByExtension(name string) bool {
	return alreadyCompressed[strings.ToLower(path.Ext(name))]
}

// worthIt reports whether a block of n bytes compressed to c bytes saves
// enough to pay for the receiver's decompression (at least 1/32).
func worthIt(n, c int) bool { return c < n-n/32 }

func newEncoder(concurrency int) (*zstd.Encoder, error) {
	return zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(concurrency),
		zstd.WithEncoderCRC(false), // the whole-file hash covers the data
		zstd.WithWindowSize(1<<17),
		zstd.WithLowerEncoderMem(true),
	)
}

// newDecoder returns a decoder that refuses any frame decoding to more
// than one block.
func newDecoder() (*zstd.Decoder, error) {
	return zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(blockSize),
		zstd.WithDecodeAllCapLimit(true),
		zstd.WithDecoderLowmem(true),
	)
}

// linkGauge decides whether compression pays on this link. The writer
// measures how long sending takes per byte on the wire (on a fast link a
// write returns at once; on a slow one it waits for room), the compressors
// how long compressing takes per byte. Compressing pays when the link is
// slower than a compressor; with hysteresis so that noise does not flap it.
// A transfer starts raw: the first megabytes fill the socket buffers
// whatever the link, and then the gauge knows.
type linkGauge struct {
	slowNow atomic.Bool
	compNs  atomic.Int64 // smoothed compression time, ns per MiB of input

	// Touched by the writer only.
	winStart time.Time
	winBytes int64
	winTime  time.Duration
}

const (
	// A link measurement spans at least this many bytes and this long: a
	// slow link blocks the writer in bursts (the kernel wakes it only when
	// half the socket buffer is free), so short windows would see either
	// one long wait or none and flap.
	gaugeWindow     = 512 << 10
	gaugeWindowTime = 250 * time.Millisecond
	// defaultCompressNs is assumed until a block was compressed: zstd's
	// fastest level on text, about 250 MB/s.
	defaultCompressNs = 4 << 20
)

func (g *linkGauge) slow() bool { return g.slowNow.Load() }

// sent records n wire bytes sent in d.
func (g *linkGauge) sent(n int, d time.Duration) {
	g.sentAt(n, d, time.Now())
}

func (g *linkGauge) sentAt(n int, d time.Duration, now time.Time) {
	if g.winStart.IsZero() {
		g.winStart = now.Add(-d)
	}
	g.winBytes += int64(n)
	g.winTime += d
	if g.winBytes < gaugeWindow || now.Sub(g.winStart) < gaugeWindowTime {
		return
	}
	g.winStart = now
	linkNs := int64(g.winTime) * (1 << 20) / g.winBytes
	g.winBytes, g.winTime = 0, 0
	compNs := g.compNs.Load()
	if compNs == 0 {
		compNs = defaultCompressNs
	}
	switch {
	case linkNs > 2*compNs:
		g.slowNow.Store(true)
	case linkNs < compNs:
		g.slowNow.Store(false)
	}
}

// compressed records n input bytes compressed in d.
func (g *linkGauge) compressed(n int, d time.Duration) {
	if n < 4096 {
		return // too small to time
	}
	sample := int64(d) * (1 << 20) / int64(n)
	for {
		old := g.compNs.Load()
		next := sample
		if old != 0 {
			next = old - old/8 + sample/8
		}
		if g.compNs.CompareAndSwap(old, next) {
			return
		}
	}
}
