"""Boundary and frame metrics (pure NumPy/SciPy). All times are in seconds.

Two ways of counting boundary hits are provided and always labelled:

* **strict** (the headline numbers): a one-to-one matching between reference and hypothesis
  boundaries; each boundary is used at most once and the number of matched pairs is maximal.
* **lenient** (as in the SegFeat / UnsupSeg papers, for comparison with them only): a hypothesis
  counts for precision when its nearest reference is within the tolerance, and a reference counts
  for recall when its nearest hypothesis is; two hypotheses near one reference both count.

A pair counts when ``|hyp - ref| <= tol`` (plus :data:`EPS`, so float noise at exactly ``tol``
still counts). Corpus scores come from counts summed over utterances, never from averaging
per-utterance scores.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

EPS = 1e-9  # seconds; lets |hyp - ref| == tol count despite float noise


def _times(x: Any) -> np.ndarray:
    a = np.asarray(x if x is not None else [], dtype=np.float64).ravel()
    if not np.all(np.isfinite(a)):
        raise ValueError("boundary times must be finite")
    return a


@dataclass(frozen=True)
class BoundaryMatch:
    """Strict one-to-one matching of one utterance.

    ``ref_idx`` / ``hyp_idx`` index the *input* arrays (as given, not sorted); ``offsets`` are
    ``hyp - ref`` in seconds for each pair, in order of the reference time.
    """

    ref_idx: np.ndarray
    hyp_idx: np.ndarray
    offsets: np.ndarray
    n_ref: int
    n_hyp: int

    @property
    def hits(self) -> int:
        return int(self.ref_idx.size)


def match_boundaries(ref: Any, hyp: Any, tol: float = 0.02) -> BoundaryMatch:
    """Strict one-to-one matching of boundary times with tolerance ``tol`` seconds.

    Maximises the number of pairs with ``|hyp - ref| <= tol``; among maximal matchings it picks
    one with the least total ``|hyp - ref|``, so the offsets describe the closest pairing.

    Parameters
    ----------
    ref, hyp : 1-D array-like of float, seconds (any order).
    tol : float, seconds.

    Returns
    -------
    BoundaryMatch
        matched indices into ``ref`` and ``hyp``, offsets (hyp - ref, seconds), n_ref, n_hyp.
    """
    ref, hyp = _times(ref), _times(hyp)
    ro, ho = np.argsort(ref, kind="stable"), np.argsort(hyp, kind="stable")
    r, h = ref[ro], hyp[ho]
    lim = tol + EPS
    # Cut the merged sorted times wherever a gap exceeds tol: no pair can straddle such a gap,
    # so each cluster is an independent (and nearly always tiny) matching problem.
    merged = np.concatenate([r, h])
    order = np.argsort(merged, kind="stable")
    cluster = np.zeros(merged.size, dtype=np.int64)
    cluster[order[1:]] = np.cumsum(np.diff(merged[order]) > lim)
    n_cl = int(cluster.max(initial=-1)) + 1
    nr = np.bincount(cluster[: r.size], minlength=n_cl)
    nh = np.bincount(cluster[r.size :], minlength=n_cl)
    r0, h0 = np.cumsum(nr) - nr, np.cumsum(nh) - nh  # first ref / hyp of each cluster
    one = (nr == 1) & (nh == 1)  # the common case: a lone pair, always within tol
    pairs_r, pairs_h = [r0[one]], [h0[one]]
    for c in np.flatnonzero((nr > 0) & (nh > 0) & ~one):
        a, i = r0[c], h0[c]
        d = np.abs(h[None, i : i + nh[c]] - r[a : a + nr[c], None])
        feasible = d <= lim
        # Count first, closeness second: one more pair always outweighs any sum of offsets.
        big = 2.0 * (min(nr[c], nh[c]) + 1) * (lim + 1.0)
        rows, cols = linear_sum_assignment(np.where(feasible, d - big, 0.0))
        keep = feasible[rows, cols]
        pairs_r.append(rows[keep] + a)
        pairs_h.append(cols[keep] + i)
    pr, ph = np.concatenate(pairs_r).astype(np.int64), np.concatenate(pairs_h).astype(np.int64)
    by_ref = np.argsort(pr, kind="stable")
    pr, ph = pr[by_ref], ph[by_ref]
    return BoundaryMatch(ro[pr], ho[ph], h[ph] - r[pr], int(ref.size), int(hyp.size))


def _nearest_distance(a: np.ndarray, b_sorted: np.ndarray) -> np.ndarray:
    """Distance from each time in ``a`` to the nearest time in ``b_sorted`` (inf if empty)."""
    b = np.concatenate([[-np.inf], b_sorted, [np.inf]])  # sentinels: no edge cases
    k = np.searchsorted(b, a)
    return np.minimum(a - b[k - 1], b[k] - a)


def lenient_hits(ref: Any, hyp: Any, tol: float = 0.02) -> tuple[int, int]:
    """LENIENT (SegFeat/UnsupSeg-style) hit counts, not one-to-one.

    Returns
    -------
    (precision_hits, recall_hits) : hypotheses whose nearest reference is within ``tol`` seconds,
    and references whose nearest hypothesis is within ``tol`` seconds.
    """
    ref, hyp = np.sort(_times(ref)), np.sort(_times(hyp))
    lim = tol + EPS
    return int(np.sum(_nearest_distance(hyp, ref) <= lim)), int(np.sum(_nearest_distance(ref, hyp) <= lim))


def r_value(hit_rate: float, over_segmentation: float) -> float:
    """R-value (Räsänen et al. 2009): ``1 - (|r1| + |r2|) / 2`` with
    ``r1 = sqrt((1 - HR)^2 + OS^2)`` and ``r2 = (-OS + HR - 1) / sqrt(2)``."""
    r1 = math.sqrt((1.0 - hit_rate) ** 2 + over_segmentation**2)
    r2 = (-over_segmentation + hit_rate - 1.0) / math.sqrt(2.0)
    return 1.0 - (abs(r1) + abs(r2)) / 2.0


def _div(a: float, b: float) -> float:
    return a / b if b else 0.0


def _f1(p: float, r: float) -> float:
    return _div(2 * p * r, p + r)


@dataclass
class BoundaryCounts:
    """Boundary counts summed over a corpus at one tolerance (``tol``, seconds).

    Edge cases: a ratio with a zero denominator is 0.0 (no hypotheses → precision 0, no
    references → recall 0, P = R = 0 → F1 0). ``r_value`` is 0.0 without references; with
    references but no hypotheses it follows the formula (HR = 0, OS = -1 → 1 - 1/sqrt(2) ≈ 0.293).
    Offset statistics are NaN (``None`` in :meth:`to_dict`) when nothing matched.
    """

    tol: float = 0.02
    hits: int = 0
    n_ref: int = 0
    n_hyp: int = 0
    lenient_p_hits: int = 0  # hypotheses with a reference within tol (lenient)
    lenient_r_hits: int = 0  # references with a hypothesis within tol (lenient)
    n_utterances: int = 0
    offsets: list[float] = field(default_factory=list)  # hyp - ref of strict pairs, seconds

    def update(self, ref: Any, hyp: Any) -> BoundaryMatch:
        """Add one utterance's boundaries (seconds); returns its strict matching."""
        m = match_boundaries(ref, hyp, self.tol)
        lp, lr = lenient_hits(ref, hyp, self.tol)
        self.hits += m.hits
        self.n_ref += m.n_ref
        self.n_hyp += m.n_hyp
        self.lenient_p_hits += lp
        self.lenient_r_hits += lr
        self.n_utterances += 1
        self.offsets.extend(m.offsets.tolist())
        return m

    def merge(self, other: BoundaryCounts) -> BoundaryCounts:
        """Sum of two count sets at the same tolerance (e.g. from parallel workers)."""
        if abs(self.tol - other.tol) > EPS:
            raise ValueError(f"cannot merge counts at tolerances {self.tol} and {other.tol}")
        summed = {f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self) if f.name != "tol"}
        return BoundaryCounts(tol=self.tol, **summed)

    @property
    def precision(self) -> float:
        return _div(self.hits, self.n_hyp)

    @property
    def recall(self) -> float:
        return _div(self.hits, self.n_ref)

    @property
    def f1(self) -> float:
        return _f1(self.precision, self.recall)

    @property
    def over_segmentation(self) -> float:  # n_hyp / n_ref - 1; 0.0 without references
        return _div(self.n_hyp, self.n_ref) - 1.0 if self.n_ref else 0.0

    @property
    def r_value(self) -> float:  # strict: HR = strict recall, OS = n_hyp / n_ref - 1
        return r_value(self.recall, self.over_segmentation) if self.n_ref else 0.0

    @property
    def lenient_precision(self) -> float:
        return _div(self.lenient_p_hits, self.n_hyp)

    @property
    def lenient_recall(self) -> float:
        return _div(self.lenient_r_hits, self.n_ref)

    @property
    def lenient_f1(self) -> float:
        return _f1(self.lenient_precision, self.lenient_recall)

    @property
    def lenient_r_value(self) -> float:
        """Lenient R-value as in the UnsupSeg code: HR = lenient recall, OS = R / P - 1
        (falls back to n_hyp / n_ref - 1 when lenient precision is 0)."""
        if not self.n_ref:
            return 0.0
        p, r = self.lenient_precision, self.lenient_recall
        return r_value(r, r / p - 1.0 if p else self.over_segmentation)

    # Offsets of strict pairs in seconds; NaN when nothing matched. mean_offset > 0 means late.
    @property
    def mean_abs_offset(self) -> float:
        return float(np.mean(np.abs(self.offsets))) if self.offsets else math.nan

    @property
    def median_abs_offset(self) -> float:
        return float(np.median(np.abs(self.offsets))) if self.offsets else math.nan

    @property
    def mean_offset(self) -> float:
        return float(np.mean(self.offsets)) if self.offsets else math.nan

    def to_dict(self, include_offsets: bool = False) -> dict[str, Any]:
        """Plain JSON-friendly dict (NaN becomes None); offsets only if asked (they are long)."""

        def num(x: float) -> float | None:
            return None if math.isnan(x) else float(x)

        out: dict[str, Any] = {
            "tolerance_s": self.tol, "n_utterances": self.n_utterances,
            "hits": self.hits, "n_ref": self.n_ref, "n_hyp": self.n_hyp,
            "precision": self.precision, "recall": self.recall, "f1": self.f1,
            "over_segmentation": self.over_segmentation, "r_value": self.r_value,
            "mean_abs_offset_s": num(self.mean_abs_offset),
            "median_abs_offset_s": num(self.median_abs_offset),
            "mean_offset_s": num(self.mean_offset),
            "lenient": {
                "precision_hits": self.lenient_p_hits, "recall_hits": self.lenient_r_hits,
                "precision": self.lenient_precision, "recall": self.lenient_recall,
                "f1": self.lenient_f1, "r_value": self.lenient_r_value,
            },
        }
        if include_offsets:
            out["offsets_s"] = [float(x) for x in self.offsets]
        return out


def evaluate_boundaries(pairs: Iterable[tuple[Any, Any]],
                        tolerances: Sequence[float] = (0.02,)) -> dict[float, BoundaryCounts]:
    """Corpus boundary counts: ``pairs`` yields ``(ref_times, hyp_times)`` per utterance (seconds).

    Returns
    -------
    dict mapping each tolerance (seconds) to its :class:`BoundaryCounts`, summed over utterances.
    The iterable is consumed once, so a generator is fine.
    """
    counts = {float(t): BoundaryCounts(tol=float(t)) for t in tolerances}
    for ref, hyp in pairs:
        for c in counts.values():
            c.update(ref, hyp)
    return counts


# ---- phone classes ---------------------------------------------------------------------------

PHONE_CLASSES = ("silence", "vowel", "stop", "fricative", "nasal", "approximant", "affricate", "other")
# "approximant" covers liquids (l, r, taps, trills) and glides (j, w).

SILENCE = frozenset({"", "sil", "sp", "spn", "pau", "h#", "#", "<p:>", "<p>", "_", "<sil>", "epi", "silence"})

_ARPABET: dict[str, str] = {}
for _cls, _codes in {
    "vowel": "aa ae ah ao aw ax ax-h axr ay eh er ey ih ix iy ow oy uh uw ux",
    "stop": "b d g p t k q dx bcl dcl gcl pcl tcl kcl",
    "affricate": "ch jh",
    "fricative": "f v th dh s z sh zh hh hv",
    "nasal": "m n ng em en eng nx",
    "approximant": "l r w y el",
}.items():
    _ARPABET.update(dict.fromkeys(_codes.split(), _cls))

# One table for IPA, (X-)SAMPA and CGN SAMPA: lowercase ASCII letters mean the same in all of
# them; SAMPA's uppercase letters, digits and symbols have no IPA meaning to clash with.
_SYMBOLS: dict[str, str] = {}
for _cls, _chars in {
    "vowel": "aeiouyæɑɒɐɘəɚɛɜɝɞɤɨɪɯɵøœɶɔʉʊʌʏɷᵻᵿ" + "@{}1236789&AEIOQUVYM",
    "stop": "pbtdkgɡqcɟʈɖɢʔʡɓɗʄɠʛʘǀǃǂǁ" + "?",
    "nasal": "mnɱɳɲŋɴ" + "NJF",
    "fricative": "fvszhxçʝɣχʁħʕɦɸβθðʃʒʂʐɕʑɬɮɧ" + "SZGTDBXRCK",
    "approximant": "lrwjɭʎʟɫɾɽɹɻʀʙⱱɥɰʋɺʍ" + "LHPW45",
}.items():
    _SYMBOLS.update(dict.fromkeys(_chars, _cls))
_AFFRICATES = frozenset("tʃ dʒ ts dz tɕ dʑ tʂ dʐ pf kx tɬ dɮ cç ɟʝ tθ dð tS dZ ʧ ʤ ʦ ʣ ʨ ʥ".split())
# length, stress, aspiration, palatalisation etc. (IPA modifier letters and X-SAMPA marks)
_MODIFIERS = frozenset("ːˑʰʷʲˠˤⁿˡʼˈˌ˞ʱ:~\"%=`'\\+.-")
_ARPABET_TOKEN = re.compile(r"([A-Za-z]+(?:-[hH])?)([0-2]?)")


def _arpabet_base(label: str) -> str | None:
    """The ARPAbet code of a label that can only be ARPAbet ('AA1', 'iy', 'bcl'), else None."""
    m = _ARPABET_TOKEN.fullmatch(label)
    if not m:
        return None
    base, stress = m.groups()
    if base.lower() in _ARPABET and (len(base) >= 2 or stress) and (base.islower() or base.isupper()):
        return base.lower()
    return None


def guess_scheme(labels: Iterable[str]) -> str:
    """'arpabet' if any label can only be ARPAbet (stress digits, 'iy', 'bcl', 'h#'), else 'ipa'
    if any label has non-ASCII characters, else 'sampa'."""
    labels = list(labels)
    if any(_arpabet_base(x.strip()) or x.strip().lower() == "h#" for x in labels):
        return "arpabet"
    return "ipa" if any(not x.isascii() for x in labels) else "sampa"


def phone_class(label: str, scheme: str = "auto") -> str:
    """Broad class of a phone label, one of :data:`PHONE_CLASSES`.

    Parameters
    ----------
    label : a phone label in IPA ('oː', 'ɛɪ', 't͡ʃ'), ARPAbet ('AA1', 'bcl', 'h#'), CGN SAMPA
        ('@', 'E+', 'G', 'N') or X-SAMPA ('t_h', 'r\\\\'); diacritics and length marks are ignored.
    scheme : 'auto' | 'arpabet' | 'ipa' | 'sampa'. Single uppercase letters differ between
        ARPAbet ('D' = d) and SAMPA ('D' = ð), and so does 'y'; 'auto' reads them as SAMPA, so
        pass 'arpabet' (or use :func:`guess_scheme` on the utterance) for ARPAbet corpora.
    """
    s = label.strip()
    if s.lower() in SILENCE:
        return "silence"
    if scheme == "arpabet" or scheme == "auto":
        base = _arpabet_base(s) if scheme == "auto" else s.lower().rstrip("012")
        if base in _ARPABET:
            return _ARPABET[base]
    s = unicodedata.normalize("NFC", s.split("_")[0])  # X-SAMPA diacritics follow '_'
    s = "".join(ch for ch in s if not unicodedata.combining(ch) and ch not in _MODIFIERS)
    if s in _AFFRICATES:
        return "affricate"
    if not s:
        return "other"
    first = s[0]
    # Precomposed letters with diacritics ('ã', 'ẽ') fall back to their base letter.
    return _SYMBOLS.get(first) or _SYMBOLS.get(unicodedata.normalize("NFD", first)[0], "other")


def transition_recall(utterances: Iterable[tuple[Sequence[str], Any, Any]], tol: float = 0.02,
                      scheme: str = "auto") -> dict[str, dict[str, Any]]:
    """Strict recall per phone-class transition.

    Parameters
    ----------
    utterances : iterable of ``(labels, starts, hyp_times)`` per utterance: the phone labels,
        their start times (seconds, increasing) and the hypothesis boundaries (seconds). The
        reference boundaries are ``starts[1:]``; the one at ``starts[k]`` is the transition
        ``class(labels[k-1]) -> class(labels[k])``.
    tol : tolerance, seconds.
    scheme : passed to :func:`phone_class`; 'auto' guesses it per utterance (:func:`guess_scheme`).

    Returns
    -------
    dict keyed ``"vowel->stop"`` etc., each ``{"from", "to", "n", "hits", "recall"}``, most
    frequent transitions first. Hits come from the strict one-to-one matching per utterance.
    """
    table: dict[tuple[str, str], list[int]] = {}
    for labels, starts, hyp in utterances:
        starts = _times(starts)
        if len(labels) != starts.size:
            raise ValueError(f"{len(labels)} labels but {starts.size} start times")
        sch = guess_scheme(labels) if scheme == "auto" else scheme
        classes = [phone_class(x, sch) for x in labels]
        hit = np.zeros(max(starts.size - 1, 0), dtype=bool)
        hit[match_boundaries(starts[1:], hyp, tol).ref_idx] = True
        for k in range(1, starts.size):
            cell = table.setdefault((classes[k - 1], classes[k]), [0, 0])
            cell[0] += 1
            cell[1] += int(hit[k - 1])
    rows = sorted(table.items(), key=lambda kv: (-kv[1][0], kv[0]))
    return {f"{a}->{b}": {"from": a, "to": b, "n": n, "hits": h, "recall": _div(h, n)}
            for (a, b), (n, h) in rows}


def position_recall(refs: Iterable[Any], hyps: Iterable[Any], tol: float = 0.02) -> dict[str, dict[str, Any]]:
    """Strict recall of each utterance's first boundary, its last and those between.

    An utterance's first and last boundaries are usually its speech onset and offset, whose
    placement in fading energy is partly a labelling convention; reporting them apart shows how
    much of a miss rate they carry. Returns ``{"first"|"inner"|"last": {"n", "hits", "recall"}}``;
    a lone boundary counts as "first".
    """
    cells = {"first": [0, 0], "inner": [0, 0], "last": [0, 0]}
    for ref, hyp in zip(refs, hyps):
        ref = np.sort(_times(ref))
        hit = np.zeros(ref.size, dtype=bool)
        hit[match_boundaries(ref, hyp, tol).ref_idx] = True
        for k in range(ref.size):
            cell = cells["first" if k == 0 else "last" if k == ref.size - 1 else "inner"]
            cell[0] += 1
            cell[1] += int(hit[k])
    return {k: {"n": n, "hits": h, "recall": _div(h, n)} for k, (n, h) in cells.items()}


# ---- frame level -----------------------------------------------------------------------------

def _flat(y: Any) -> np.ndarray:
    if isinstance(y, (list, tuple)) and y and all(np.ndim(x) >= 1 for x in y):
        return np.concatenate([np.ravel(x) for x in y])  # a list of per-utterance arrays
    return np.ravel(np.asarray(y))


def frame_metrics(y_true: Any, y_pred: Any,
                  target_names: tuple[str, str] = ("non-boundary", "boundary")) -> dict[str, Any]:
    """Binary frame classification metrics over a whole split (frames pooled, not averaged).

    Parameters
    ----------
    y_true, y_pred : 0/1 labels per frame, as one array or a list of per-utterance arrays.
        Frames whose ``y_true`` is negative (padding such as -100) are ignored.
    target_names : names of class 0 and class 1 in the text report.

    Returns
    -------
    dict with ``accuracy``; ``confusion`` [[TN, FP], [FN, TP]] (rows true, columns predicted);
    ``per_class`` {name: {precision, recall, f1, support}}; ``macro_avg`` and ``weighted_avg``;
    ``n_frames``; and ``report``, a text table like scikit-learn's classification_report.
    Ratios with a zero denominator are 0.0.
    """
    t, p = _flat(y_true).astype(np.int64), _flat(y_pred).astype(np.int64)
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.size} frames but y_pred has {p.size}")
    keep = t >= 0
    t, p = t[keep], p[keep]
    if np.any(t > 1) or np.any((p != 0) & (p != 1)):
        raise ValueError("frame labels must be 0 or 1 (negative y_true = ignored padding)")
    cm = np.bincount(2 * t + p, minlength=4).reshape(2, 2)
    per_class: dict[str, dict[str, float]] = {}
    for k, name in enumerate(target_names):
        prec, rec = _div(cm[k, k], cm[:, k].sum()), _div(cm[k, k], cm[k, :].sum())
        per_class[name] = {"precision": prec, "recall": rec, "f1": _f1(prec, rec), "support": int(cm[k].sum())}
    n = int(cm.sum())
    macro = {m: float(np.mean([c[m] for c in per_class.values()])) for m in ("precision", "recall", "f1")}
    weighted = {m: _div(sum(c[m] * c["support"] for c in per_class.values()), n) for m in ("precision", "recall", "f1")}
    accuracy = _div(int(np.trace(cm)), n)

    w = max(12, *(len(x) for x in target_names))
    lines = [f"{'':>{w}} {'precision':>9} {'recall':>9} {'f1-score':>9} {'support':>9}", ""]
    for name, c in per_class.items():
        lines.append(f"{name:>{w}} {c['precision']:9.4f} {c['recall']:9.4f} {c['f1']:9.4f} {c['support']:9d}")
    lines += ["", f"{'accuracy':>{w}} {'':>9} {'':>9} {accuracy:9.4f} {n:9d}"]
    for name, avg in (("macro avg", macro), ("weighted avg", weighted)):
        lines.append(f"{name:>{w}} {avg['precision']:9.4f} {avg['recall']:9.4f} {avg['f1']:9.4f} {n:9d}")
    return {"accuracy": accuracy, "n_frames": n, "confusion": cm.tolist(), "per_class": per_class,
            "macro_avg": macro, "weighted_avg": weighted, "report": "\n".join(lines)}
