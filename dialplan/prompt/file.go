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

// ffmpegFormats are the demuxers of AllowedExtensions (mov reads .m4a and
// .m4r, mp3 reads .mp2): ffmpeg's -format_whitelist.
const ffmpegFormats = "wav,mp3,mov,ircam,voc"

// maxSeconds bounds a converted prompt: 4 MB of low-bitrate audio could
// otherwise decode to hours of WAV on disk and in memory.
const maxSeconds = 600

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
	ext, fi, real, err := l.statFile(path)
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
			data, err := readFile(path, real)
			if err != nil {
				return nil, err
			}
			return l.prepareFile(ctx, path, ext, key.sum, data)
		})
	}
	data, err := readFile(path, real)
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
	c, err := l.produce(cached, func(tmp string) error { return l.ffmpeg(ctx, ffmpeg, data, ext, tmp) })
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

// ffmpeg converts data, audio of type ext, into a 16 kHz mono 16-bit WAV
// file dst. The input is a private copy in the cache directory (never the
// named file again, which may have changed since it was read).
func (l *Library) ffmpeg(ctx context.Context, ffmpeg string, data []byte, ext, dst string) error {
	src, err := os.CreateTemp(l.opts.CacheDir, ".src-*"+ext)
	if err != nil {
		return fmt.Errorf("prompt cache: %w", err)
	}
	defer os.Remove(src.Name())
	_, werr := src.Write(data)
	if cerr := src.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("prompt cache: %w", werr)
	}
	args := []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y"}
	// The bytes may be anyone's upload: ffmpeg reads only local files and
	// only the demuxers of the allowed extensions (never a playlist or
	// concat list naming other files), and writes at most maxSeconds.
	// "file:" keeps ffmpeg from reading a name with a colon as a protocol;
	// -vn drops cover art; -map_metadata -1 drops tags.
	args = append(args, "-protocol_whitelist", "file", "-format_whitelist", ffmpegFormats,
		"-i", "file:"+src.Name(), "-vn", "-map_metadata", "-1", "-t", fmt.Sprint(maxSeconds),
		"-ac", "1", "-ar", fmt.Sprint(ffmpegRate), "-c:a", "pcm_s16le", "-f", "wav", "file:"+dst)
	return l.run(ctx, ffmpeg, args...)
}

// Convert turns data, an uploaded audio file of type ext (one of
// AllowedExtensions, at most MaxFileSize), into the WAV file the players
// read (16-bit mono; VOX decoded as Dialogic ADPCM at 8000 Hz, every other
// format converted with ffmpeg to 16 kHz), written atomically to dst, and
// returns it decoded. Errors wrap ErrFormat, ErrTooLarge or ErrMissingTool
// where those apply; they name the upload as name.
func (l *Library) Convert(ctx context.Context, name string, data []byte, ext, dst string) (*audio.Clip, error) {
	ext = strings.ToLower(ext)
	if !allowedExtension(ext) {
		return nil, fmt.Errorf("%s: %w %q, want one of %s", name, ErrFormat, ext, strings.Join(allowedExtensions, " "))
	}
	if len(data) > MaxFileSize {
		return nil, tooLarge(name, int64(len(data)))
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, fmt.Errorf("prompt store: %w", err)
	}
	if ext == ".vox" {
		c := DecodeVOX(data, VOXRate)
		if len(c.Samples) == 0 {
			return nil, fmt.Errorf("%s: %w: empty VOX file", name, ErrFormat)
		}
		return c, writeWAV(dst, c)
	}
	ffmpeg, err := l.lookFFmpeg()
	if err != nil {
		return nil, fmt.Errorf("%s: %s files are converted with ffmpeg; %w", name, ext, err)
	}
	c, err := l.produce(dst, func(tmp string) error { return l.ffmpeg(ctx, ffmpeg, data, ext, tmp) })
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("%s: converting with ffmpeg: %w", name, err)
		}
		return nil, fmt.Errorf("%s: %w: cannot convert with %v", name, ErrFormat, err)
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

// statFile checks that path lies under the prompt directories (Dirs) and
// is a regular file of at most MaxFileSize with an allowed extension, and
// returns the extension in lower case, the file's information and the path
// to open (symbolic links resolved when the Library is confined).
func (l *Library) statFile(path string) (ext string, fi os.FileInfo, real string, err error) {
	ext = strings.ToLower(filepath.Ext(path))
	if !allowedExtension(ext) {
		what := fmt.Sprintf("%q", ext)
		if ext == "" {
			what = "(no file name extension)"
		}
		return "", nil, "", fmt.Errorf("%s: %w %s, want one of %s", path, ErrFormat, what, strings.Join(allowedExtensions, " "))
	}
	real, err = l.confine(path)
	if err != nil {
		return "", nil, "", err
	}
	fi, err = os.Stat(real)
	if err != nil || !fi.Mode().IsRegular() {
		return "", nil, "", notFound(path)
	}
	if fi.Size() > MaxFileSize {
		return "", nil, "", tooLarge(path, fi.Size())
	}
	return ext, fi, real, nil
}

// confine returns the file path names, symbolic links resolved, when it
// lies under one of Options.Dirs (path itself when there are none), else
// the not-found error.
func (l *Library) confine(path string) (string, error) {
	if len(l.opts.Dirs) == 0 {
		return path, nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", notFound(path)
	}
	for _, d := range l.opts.Dirs {
		dir, err := filepath.Abs(d)
		if err != nil || !within(dir, abs) {
			continue
		}
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return "", notFound(path)
		}
		if realDir, err := filepath.EvalSymlinks(dir); err == nil && within(realDir, real) {
			return real, nil
		}
	}
	return "", notFound(path)
}

// within reports whether the clean absolute path p lies under dir.
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// readFile reads real (the file path names), at most MaxFileSize bytes.
func readFile(path, real string) ([]byte, error) {
	f, err := os.Open(real)
	if err != nil {
		return nil, notFound(path)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, notFound(path)
	}
	if len(data) > MaxFileSize {
		return nil, tooLarge(path, int64(len(data)))
	}
	return data, nil
}

func tooLarge(path string, size int64) error {
	return fmt.Errorf("%s: %w: %d bytes, at most %d (4 MB)", path, ErrTooLarge, size, MaxFileSize)
}

// notFoundError is the one error for a file that cannot be used where it
// is named, whatever the reason (see ErrNotFound).
type notFoundError struct{ path string }

func (e *notFoundError) Error() string { return e.path + ": " + ErrNotFound.Error() }

// Is reports whether target is ErrNotFound or fs.ErrNotExist.
func (e *notFoundError) Is(target error) bool {
	return target == ErrNotFound || target == fs.ErrNotExist
}

func notFound(path string) error { return &notFoundError{path: path} }
