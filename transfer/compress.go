package transfer

import (
	"fmt"
	"path"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Compression modes of SendOptions.Compress.
const (
	CompressAuto = "auto"
	CompressOn   = "on"
	CompressOff  = "off"
)

func checkCompress(mode string) error {
	switch mode {
	case "", CompressAuto, CompressOn, CompressOff:
		return nil
	}
	return fmt.Errorf("unknown compression mode %q (use auto, on or off)", mode)
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
		zstd.WithDecoderMaxMemory(BlockSize),
		zstd.WithDecodeAllCapLimit(true),
		zstd.WithDecoderLowmem(true),
	)
}
