"""Charts of a day or a week (matplotlib, optional), drawn without pyplot's global state.

The chart draws the data it is given (a JournalSummary and the scene's mood
intervals); it never reads the journal itself.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from moodlens import Emotion

from ._deps import require_matplotlib
from ._errors import InvalidEntryError, JournalError
from ._models import EMOTIONS
from ._summary import JournalSummary, format_duration, format_share
from ._values import MOOD_LABELS, MoodInterval

COLORS = {
    Emotion.ANGRY: "#d64541",
    Emotion.DISGUST: "#7d8c3a",
    Emotion.FEAR: "#8e6bbf",
    Emotion.HAPPY: "#f4c430",
    Emotion.SAD: "#3d7cc9",
    Emotion.SURPRISE: "#f08a24",
    Emotion.NEUTRAL: "#b9bec4",
}
_MOOD_COLORS = {1: "#c0392b", 2: "#e67e22", 3: "#95a5a6", 4: "#27ae60", 5: "#16a085"}


def chart_formats() -> tuple[str, ...]:
    """The file suffixes a chart can be saved as ("png", "pdf", "svg"...): matplotlib's.

    Raises:
        MissingDependencyError: matplotlib is not installed.
    """
    require_matplotlib()
    from matplotlib.backend_bases import FigureCanvasBase

    return tuple(sorted(FigureCanvasBase.get_supported_filetypes()))


def check_chart_path(path: str | os.PathLike[str]) -> Path:
    """The chart's file, checked before any work: its suffix names a format matplotlib writes.

    Raises:
        InvalidEntryError: no suffix, or one matplotlib cannot write (the message lists
            those it can).
        MissingDependencyError: matplotlib is not installed.
    """
    target = Path(os.fspath(path)).expanduser()
    formats = chart_formats()
    suffix = target.suffix.lower().lstrip(".")
    if suffix not in formats:
        why = f"has the suffix .{suffix}" if suffix else "has no suffix"
        raise InvalidEntryError(
            f"cannot save a chart as {str(path)!r}: it {why}; use one of "
            f"{', '.join('.' + f for f in formats)} (e.g. mood.png)"
        )
    return target


def _figure() -> tuple[Any, dict[str, Any]]:
    require_matplotlib()
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 6.5), layout="constrained")
    axes = fig.subplot_mosaic(
        [["main", "share"], ["mood", "notes"]],
        width_ratios=[4, 1.4],
        height_ratios=[3, 2],
    )
    axes["mood"].sharex(axes["main"])
    return fig, axes


def _share_panel(ax: Any, summary: JournalSummary) -> None:
    """Share of the time seen per emotion, largest first: the day at a glance."""
    ranked = sorted(EMOTIONS, key=lambda e: summary.emotion_share.get(e, 0.0))
    values = [summary.emotion_share.get(e, 0.0) for e in ranked]
    ax.barh([e.value for e in ranked], values, color=[COLORS[e] for e in ranked])
    for y, v in enumerate(values):
        if v > 0:
            ax.text(v + 0.02, y, format_share(v), va="center", fontsize=8)
    ax.set_xlim(0, 1.2)
    ax.set_xticks([])
    ax.set_title("share of time seen", fontsize=10)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)


def _notes_panel(ax: Any, summary: JournalSummary) -> None:
    ax.axis("off")
    lines = []
    if summary.tracked_seconds:
        lines.append(f"face seen {format_duration(summary.tracked_seconds)}")
        lines.append(
            f"{summary.mood_changes} mood change{'s' if summary.mood_changes != 1 else ''}"
        )
    if summary.entries:
        mean = summary.mean_mood or 0.0
        lines.append(f"{len(summary.entries)} entr{'ies' if len(summary.entries) != 1 else 'y'}")
        lines.append(f"mean mood {mean:.1f} ({MOOD_LABELS[int(round(mean))]})")
    if summary.tags:
        lines.append("tags: " + ", ".join(t for t, _ in summary.tags[:5]))
    lines.append(f"streak {summary.streak} day{'s' if summary.streak != 1 else ''}")
    ax.text(0, 1, "\n".join(lines), va="top", fontsize=10, transform=ax.transAxes, wrap=True)


def _local_naive(dt: datetime, tz: tzinfo | None) -> datetime:
    return dt.astimezone(tz).replace(tzinfo=None)


def _save(fig: Any, path: Path) -> Path:
    path = Path(os.fspath(path)).expanduser()
    try:
        fig.savefig(path, dpi=110)
    except OSError as e:
        raise JournalError(f"cannot save the chart to {path} ({e.strerror or e})") from e
    return path


def _mood_axis(ax: Any) -> None:
    ax.set_ylim(0.5, 5.5)
    ax.set_yticks(list(MOOD_LABELS), [f"{k} {v}" for k, v in MOOD_LABELS.items()])
    ax.set_ylabel("how you felt")
    ax.grid(axis="y", alpha=0.3)


def _legend(ax: Any) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(color=COLORS[e], label=e.value) for e in EMOTIONS]
    ax.tick_params(labelbottom=False)
    ax.legend(
        handles=handles,
        ncols=7,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        frameon=False,
        fontsize=9,
    )


def save_day_chart(
    summary: JournalSummary,
    intervals: Sequence[MoodInterval],
    path: Path,
    *,
    tz: tzinfo | None,
) -> Path:
    """Saves ``day_figure`` to ``path`` (the suffix gives the format).

    Raises:
        MissingDependencyError: matplotlib is not installed.
        JournalError: the file cannot be written.
    """
    return _save(day_figure(summary, intervals, tz=tz), path)


def save_week_chart(
    summary: JournalSummary,
    intervals: Sequence[MoodInterval],
    path: Path,
    *,
    tz: tzinfo | None,
) -> Path:
    """Saves ``week_figure`` to ``path`` (the suffix gives the format).

    Raises:
        MissingDependencyError: matplotlib is not installed.
        JournalError: the file cannot be written.
    """
    return _save(week_figure(summary, intervals, tz=tz), path)


def _clock_formatter() -> Any:
    """Tick labels of a time axis: HH:MM when every tick is on a whole minute, else
    HH:MM:SS, so a short session never shows the same label twice."""
    import matplotlib.dates as mdates
    from matplotlib.ticker import Formatter

    def clock(value: float) -> datetime:
        moment = mdates.num2date(value) + timedelta(microseconds=500_000)
        return moment.replace(microsecond=0)

    class ClockFormatter(Formatter):  # type: ignore[misc]
        def __call__(self, x: float, pos: int | None = None) -> str:
            return clock(x).strftime("%H:%M:%S")

        def format_ticks(self, values: Sequence[float]) -> list[str]:
            moments = [clock(v) for v in values]
            whole = all(m.second == 0 for m in moments)
            return [m.strftime("%H:%M" if whole else "%H:%M:%S") for m in moments]

    return ClockFormatter()


def day_figure(
    summary: JournalSummary, intervals: Sequence[MoodInterval], *, tz: tzinfo | None
) -> Any:
    """What the camera saw over a day (stacked mean scores of the scene's ``intervals``)
    above what the user wrote (the summary's entries): a matplotlib Figure.

    Raises:
        MissingDependencyError: matplotlib is not installed.
    """
    import matplotlib.dates as mdates

    day = summary.start
    fig, axes = _figure()
    top, bottom = axes["main"], axes["mood"]
    lefts, widths = [], []
    for i in intervals:
        start = _local_naive(i.started_at, tz)
        span = max((i.ended_at - i.started_at).total_seconds(), i.seconds, 1.0)
        lefts.append(mdates.date2num(start))
        widths.append(span / 86400)
    base = [0.0] * len(intervals)
    for emotion in EMOTIONS:
        heights = [i.scores[emotion] for i in intervals]
        top.bar(
            lefts, heights, widths, bottom=base, align="edge", color=COLORS[emotion], linewidth=0
        )
        base = [b + h for b, h in zip(base, heights, strict=True)]
    top.set_ylim(0, 1)
    top.set_ylabel("what the camera saw\n(share of each emotion)")
    if not intervals:
        top.text(
            0.5,
            0.5,
            "no face recorded this day",
            ha="center",
            va="center",
            transform=top.transAxes,
            color="#777",
        )
    for e in summary.entries:
        when = mdates.date2num(_local_naive(e.created_at, tz))
        bottom.scatter([when], [e.mood], s=140, color=_MOOD_COLORS[e.mood], zorder=3)
        text = e.note or ", ".join(e.tags)
        if text:
            bottom.annotate(
                text[:40] + ("..." if len(text) > 40 else ""),
                (when, e.mood),
                xytext=(8, 6),
                textcoords="offset points",
                fontsize=8,
            )
    _mood_axis(bottom)
    written = [mdates.date2num(_local_naive(e.created_at, tz)) for e in summary.entries]
    starts = lefts + written
    ends = [x + w for x, w in zip(lefts, widths, strict=True)] + written
    midnight = mdates.date2num(datetime.combine(day, datetime.min.time()))
    if starts:
        # Zoom to what happened, with a margin that keeps a short session visible.
        pad = max((max(ends) - min(starts)) * 0.05, 1 / 1440)
        lo, hi = max(midnight, min(starts) - pad), min(midnight + 1, max(ends) + pad)
        min_width = (hi - lo) / 300
        for patch in top.patches:
            patch.set_width(max(patch.get_width(), min_width))
    else:
        lo, hi = midnight, midnight + 1
    bottom.set_xlim(lo, hi)
    bottom.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=4, maxticks=9))
    bottom.xaxis.set_major_formatter(_clock_formatter())
    bottom.set_xlabel(day.strftime("%A %d %B %Y"))
    _legend(top)
    _share_panel(axes["share"], summary)
    _notes_panel(axes["notes"], summary)
    fig.suptitle(_title(summary, day.strftime("%A %d %B")), fontsize=13)
    return fig


def week_figure(
    summary: JournalSummary, intervals: Sequence[MoodInterval], *, tz: tzinfo | None
) -> Any:
    """Share of each emotion per day (the scene's ``intervals``; bars labelled with the time
    seen) above the mean mood of the summary's entries: a matplotlib Figure.

    Raises:
        MissingDependencyError: matplotlib is not installed.
    """
    fig, axes = _figure()
    top, bottom = axes["main"], axes["mood"]
    days = [summary.start + timedelta(days=k) for k in range(7)]
    seconds: dict[date, dict[Emotion, float]] = defaultdict(lambda: dict.fromkeys(EMOTIONS, 0.0))
    for i in intervals:
        seconds[i.started_at.astimezone(tz).date()][i.dominant] += i.seconds
    xs = list(range(7))
    base = [0.0] * 7
    for emotion in EMOTIONS:
        shares = []
        for d in days:
            total = sum(seconds[d].values())
            shares.append(seconds[d][emotion] / total if total else 0.0)
        top.bar(xs, shares, 0.7, bottom=base, color=COLORS[emotion])
        base = [b + s for b, s in zip(base, shares, strict=True)]
    for x, stats in zip(xs, summary.days, strict=True):
        if stats.tracked_seconds:
            top.text(x, 1.02, format_duration(stats.tracked_seconds), ha="center", fontsize=8)
    top.set_ylim(0, 1.1)
    top.set_ylabel("share of time seen")
    means = [
        (x, stats.mean_mood)
        for x, stats in zip(xs, summary.days, strict=True)
        if stats.mean_mood is not None
    ]
    if means:
        bottom.plot([m[0] for m in means], [m[1] for m in means], "-", color="#555", zorder=2)
        for x, m in means:
            bottom.scatter([x], [m], s=160, color=_MOOD_COLORS[int(round(m))], zorder=3)
    else:
        bottom.text(3, 3, "no entries this week", ha="center", va="center", color="#777")
    for x, stats in zip(xs, summary.days, strict=True):
        if stats.entries:
            bottom.text(
                x,
                0.65,
                f"{stats.entries} entr{'ies' if stats.entries > 1 else 'y'}",
                ha="center",
                fontsize=8,
                color="#555",
            )
    _mood_axis(bottom)
    bottom.set_xticks(xs, [d.strftime("%a\n%d %b") for d in days])
    bottom.set_xlim(-0.6, 6.6)
    _legend(top)
    _share_panel(axes["share"], summary)
    _notes_panel(axes["notes"], summary)
    fig.suptitle(_title(summary, f"week of {summary.start.strftime('%d %B %Y')}"), fontsize=13)
    return fig


def _title(summary: JournalSummary, when: str) -> str:
    parts = [when]
    if summary.dominant is not None:
        share = summary.emotion_share[summary.dominant]
        parts.append(f"mostly {summary.dominant.value} ({format_share(share)} of the time seen)")
    if summary.mean_mood is not None:
        parts.append(f"mean mood {summary.mean_mood:.1f}")
    parts.append(f"streak {summary.streak} d")
    return " | ".join(parts)
