"""Face tracking across frames by box overlap (IoU), with ids that stay stable.

Greedy IoU matching is enough for the faces of a camera or a video: faces move
little between frames, and the stream searches near each track's last box.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ._errors import OptionsError
from ._types import Box


@dataclass(slots=True)
class Track:
    """A face followed across frames (mutable, owned by the tracker).

    Attributes:
        track_id: stable id, from 1, never reused within a tracker.
        box: the last box matched to the track.
        first_seen: timestamp of the first match.
        last_seen: timestamp of the last match.
        hits: frames matched so far.
    """

    track_id: int
    box: Box
    first_seen: float
    last_seen: float
    hits: int = 1


@dataclass(frozen=True, slots=True)
class TrackUpdate:
    """What one frame did to the tracks.

    Attributes:
        assigned: (track id, box) for each box of the frame, in the order given.
        missed: ids of live tracks without a box in this frame (kept until ``lost_after``).
        ended: ids of tracks dropped in this frame (unseen for more than ``lost_after``).
    """

    assigned: tuple[tuple[int, Box], ...]
    missed: tuple[int, ...] = ()
    ended: tuple[int, ...] = field(default=())


class IouTracker:
    """Assigns the faces of each frame to tracks by greatest box overlap.

    Args:
        iou_threshold: least intersection-over-union for a box to continue a track.
        lost_after: seconds a track may go unseen before it ends (detector misses,
            a hand over the face).

    Raises:
        OptionsError: a threshold outside [0, 1] or a negative ``lost_after``.

    Example:
        >>> tracker = IouTracker()
        >>> tracker.update([Box(10, 10, 50, 50)], 0.0).assigned
        ((1, Box(x=10, y=10, w=50, h=50)),)
    """

    def __init__(self, *, iou_threshold: float = 0.3, lost_after: float = 1.0) -> None:
        if not 0.0 <= iou_threshold <= 1.0:
            raise OptionsError(f"iou_threshold must be in [0, 1], got {iou_threshold}")
        if lost_after < 0:
            raise OptionsError(f"lost_after must be >= 0 seconds, got {lost_after}")
        self.iou_threshold = iou_threshold
        self.lost_after = lost_after
        self._tracks: dict[int, Track] = {}
        self._next_id = 1

    @property
    def tracks(self) -> list[Track]:
        """The live tracks, oldest first."""
        return list(self._tracks.values())

    def update(self, boxes: Sequence[Box], timestamp: float) -> TrackUpdate:
        """Matches this frame's boxes to tracks, starts new tracks, ends stale ones."""
        pairs = sorted(
            (
                (box.iou(track.box), i, track_id)
                for i, box in enumerate(boxes)
                for track_id, track in self._tracks.items()
            ),
            key=lambda p: (-p[0], p[1], p[2]),
        )
        by_box: dict[int, int] = {}
        taken: set[int] = set()
        for iou, i, track_id in pairs:
            if iou < self.iou_threshold or iou <= 0.0:
                break
            if i in by_box or track_id in taken:
                continue
            by_box[i] = track_id
            taken.add(track_id)
        assigned = []
        for i, box in enumerate(boxes):
            if i in by_box:
                track = self._tracks[by_box[i]]
                track.box, track.last_seen, track.hits = box, timestamp, track.hits + 1
            else:
                track = Track(self._next_id, box, timestamp, timestamp)
                self._tracks[track.track_id] = track
                self._next_id += 1
            assigned.append((track.track_id, box))
        ids = {track_id for track_id, _ in assigned}
        ended = tuple(
            t.track_id
            for t in self._tracks.values()
            if t.track_id not in ids and timestamp - t.last_seen > self.lost_after
        )
        for track_id in ended:
            del self._tracks[track_id]
        missed = tuple(t for t in self._tracks if t not in ids)
        return TrackUpdate(tuple(assigned), missed, ended)

    def end_all(self) -> tuple[int, ...]:
        """Ends every track (the stream stopped); returns their ids."""
        ended = tuple(self._tracks)
        self._tracks.clear()
        return ended
