package prompt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchboard-voice/switchboard/media/audio"
)

// ffmpegRate is the sample rate of files converted with ffmpeg.
const ffmpegRate = 16000

// File returns the audio file at path as a clip. The extension (any case)
// must be one of AllowedExtensions and the file at most MaxFileSize.
//
// WAV files of 16-bit PCM at 8 to 48 kHz and MP3 files are decoded in Go,
// and VOX files (Dialogic ADPCM) as 8000 Hz mono. Every other allowed format,
// and a WAV or MP3 file Go cannot decode (8-bit, µ-law, A-law or float
// samples, ...), is converted once with ffmpeg into a 16 kHz mono 16-bit WAV
// file in the cache directory, named after the SHA-256 of the file's content,
// and that file is reused afterwards. Decoded clips are kept in memory by
// content, so an edited file is prepared again. Concurrent requests for the
// same content prepare it once. The clip is shared: do not modify it.
//
// Errors name the file: a missing file (errors.Is fs.ErrNotExist), a
// disallowed extension or undecodable content (ErrFormat), a file over 4 MB
// (ErrTooLarge), or ffmpeg needed but not installed (ErrMissingTool, with
// "apt-get install ffmpeg"). Conversion is bounded by ctx and
// Options.Timeout.
func (l *Library) File(ctx context.Context, path string) (*audio.Clip, error) {
	ext, fi, err := statFile(path)
	if err != nil {
		return nil, err
	}
	// A file unchanged since it was last read (same size and time) has the
	// same content: its clip is found without reading and hashing it again
	// (each queued caller asks for its strategy's files).
	seen := fileSeen{size: fi.Size(), mod: fi.ModTime()}
	l.mu.Lock()
	key, known := l.seen[path]
	l.mu.Unlock()
	if known && key.fileSeen == seen {
		return l.load(ctx, "file:"+ext+":"+key.sum, func(ctx context.Context) (*audio.Clip, error) {
			data, err := readFile(path)
			if err != nil {
				return nil, err
			}
			return l.prepareFile(ctx, path, ext, key.sum, data)
		})
	}
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])
	l.mu.Lock()
	l.seen[path] = seenFile{fileSeen: seen, sum: sum}
	l.mu.Unlock()
	return l.load(ctx, "file:"+ext+":"+sum, func(ctx context.Context) (*audio.Clip, error) {
		return l.prepareFile(ctx, path, ext, sum, data)
	})
}

// fileSeen is what stat says of a file; seenFile adds its content's hash.
type fileSeen struct {
	size int64
	mod  time.Time
}

type seenFile struct {
	fileSeen
	sum string
}

func (l *Library) prepareFile(ctx context.Context, path, ext, key string, data []byte) (*audio.Clip, error) {
	var goErr error // why Go could not decode it, for WAV and MP3
	switch ext {
	case ".vox":
		c := DecodeVOX(data, VOXRate)
		if len(c.Samples) == 0 {
			return nil, fmt.Errorf("%s: %w: empty VOX file", path, ErrFormat)
		}
		return c, nil
	case ".wav", ".mp3":
		c, err := decodeGo(ext, data)
		if err == nil {
			return c, nil
		}
		goErr = err
	}
	cached := filepath.Join(l.opts.CacheDir, "file-"+key+".wav")
	if c, ok := loadCached(cached); ok {
		return c, nil
	}
	why := ext + " files are converted with ffmpeg"
	if goErr != nil {
		why = goErr.Error() + ", converting it needs ffmpeg"
	}
	ffmpeg, err := l.lookFFmpeg()
	if err != nil {
		return nil, fmt.Errorf("%s: %s; %w", path, why, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c, err := l.produce(cached, func(tmp string) error {
		// "file:" keeps ffmpeg from reading a name with a colon as a
		// protocol; -vn drops cover art; -map_metadata -1 drops tags.
		return l.run(ctx, ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
			"-i", "file:"+abs, "-vn", "-map_metadata", "-1",
			"-ac", "1", "-ar", fmt.Sprint(ffmpegRate), "-c:a", "pcm_s16le", "-f", "wav", "file:"+tmp)
	})
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("%s: converting with ffmpeg: %w", path, err)
		}
		if goErr != nil {
			return nil, fmt.Errorf("%s: %w: %v; %v", path, ErrFormat, goErr, err)
		}
		return nil, fmt.Errorf("%s: %w: cannot convert with %v", path, ErrFormat, err)
	}
	return c, nil
}

// decodeGo decodes WAV or MP3 data in Go; the error has no file name.
func decodeGo(ext string, data []byte) (*audio.Clip, error) {
	var (
		c   *audio.Clip
		err error
	)
	switch ext {
	case ".wav":
		c, err = audio.DecodeWAV(bytes.NewReader(data))
	case ".mp3":
		c, err = audio.DecodeMP3(bytes.NewReader(data))
	default:
		return nil, fmt.Errorf("no Go decoder for %s", ext)
	}
	if err != nil {
		return nil, err
	}
	if len(c.Samples) == 0 {
		return nil, errors.New("no audio samples")
	}
	return c, nil
}

// statFile checks that path is a regular file of at most MaxFileSize with an
// allowed extension, and returns the extension in lower case and the size.
func statFile(path string) (ext string, fi os.FileInfo, err error) {
	ext = strings.ToLower(filepath.Ext(path))
	if !allowedExtension(ext) {
		what := fmt.Sprintf("%q", ext)
		if ext == "" {
			what = "(no file name extension)"
		}
		return "", nil, fmt.Errorf("%s: %w %s, want one of %s", path, ErrFormat, what, strings.Join(allowedExtensions, " "))
	}
	fi, err = os.Stat(path)
	if err != nil {
		return "", nil, fileError(path, err)
	}
	if !fi.Mode().IsRegular() {
		return "", nil, fmt.Errorf("%s: not a regular file", path)
	}
	if fi.Size() > MaxFileSize {
		return "", nil, tooLarge(path, fi.Size())
	}
	return ext, fi, nil
}

// readFile reads path, at most MaxFileSize bytes.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileError(path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fileError(path, err)
	}
	if len(data) > MaxFileSize {
		return nil, tooLarge(path, int64(len(data)))
	}
	return data, nil
}

func tooLarge(path string, size int64) error {
	return fmt.Errorf("%s: %w: %d bytes, at most %d (4 MB)", path, ErrTooLarge, size, MaxFileSize)
}

// fileError returns err about path as "path: reason", keeping errors.Is for
// fs.ErrNotExist and the like.
func fileError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: audio file not found: %w", path, err)
	}
	return fmt.Errorf("%s: cannot read audio file: %w", path, err)
}
