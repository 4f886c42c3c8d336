"""Forced alignment: transcripts (words via lexicons and G2P, or phones) placed in recordings by a
segmental Viterbi search over the detector's per-frame boundary, class and feature outputs."""
