"""The transcript as a graph of tokens for the Viterbi search.

Each word contributes its pronunciations side by side (one chain of phone tokens each); an
optional silence token stands before the first word, between words and after the last. The
search walks exactly one pronunciation per word and takes or skips each silence, so it places
every phone of the transcript and chooses among variants by how well they fit the audio.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Token:
    """One node of the graph: a phone of one pronunciation of word ``word``, or a silence
    (``label`` '' and ``word`` the index of the word it precedes; len(words) after the last)."""

    label: str
    word: int
    variant: int = 0
    position: int = 0  # index of the phone in its pronunciation

    @property
    def silence(self) -> bool:
        return self.label == ""


@dataclass
class Graph:
    tokens: list[Token] = field(default_factory=list)
    preds: list[list[int]] = field(default_factory=list)  # -1 = the start
    is_end: list[bool] = field(default_factory=list)

    def add(self, token: Token, preds: list[int], end: bool = False) -> int:
        self.tokens.append(token)
        self.preds.append(list(preds))
        self.is_end.append(end)
        return len(self.tokens) - 1

    @property
    def flat(self) -> np.ndarray:
        return np.array([t.silence for t in self.tokens], bool)

    def end_after_any_word(self) -> None:
        """Let a path end after any word (its last phones) or in the pause after it: a window of
        a long recording may stop anywhere in its transcript."""
        leaves_word = set()  # tokens with a successor in another word (a word's last phones)
        for k, ps in enumerate(self.preds):
            leaves_word.update(p for p in ps if p >= 0 and self.tokens[p].word != self.tokens[k].word)
        for j, token in enumerate(self.tokens):
            if (token.silence and token.word > 0) or (not token.silence and j in leaves_word):
                self.is_end[j] = True


def build_graph(words: list[tuple[tuple[str, ...], ...]], silence_between: bool = True,
                silence_at_edges: bool = True) -> Graph:
    """The graph of a transcript.

    Parameters
    ----------
    words : per word, its pronunciations (each a tuple of phone labels, at least one phone).
    silence_between : optional silence between words (False: words run into each other, as
        in a phone transcript of one word).
    silence_at_edges : optional silence before the first and after the last word.
    """
    g = Graph()
    ends = [-1]  # the tokens a word may follow: the start, then the last word's final phones
    for w, variants in enumerate(words):
        entry = list(ends)
        if (w == 0 and silence_at_edges) or (w > 0 and silence_between):
            entry.append(g.add(Token("", w), ends))
        ends = []
        for v, phones in enumerate(variants):
            prev = entry
            for k, label in enumerate(phones):
                prev = [g.add(Token(label, w, v, k), prev)]
            ends.extend(prev)
    for j in ends:
        g.is_end[j] = True
    if silence_at_edges:
        g.add(Token("", len(words)), ends, end=True)
    return g
