// Package audio loads prompts and music (WAV, MP3) into memory, resamples
// them, and plays them as consecutive 20 ms frames of 16-bit mono linear PCM.
//
// A Clip is a decoded sound at its own rate. A Player turns a Clip into a
// Source of frames at a call leg's rate, once or looped without a gap or a
// click. A Mixer plays music with announcements over it, lowering ("ducking")
// the music while an announcement plays. Mix adds frames of several streams,
// for example the two legs of a call for a recording.
//
// Decoding and resampling allocate; they are meant to run once when a clip is
// loaded. Player.Read and Mixer.Read do not allocate.
package audio
