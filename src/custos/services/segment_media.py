"""A segment's video for a playback or granted-view session: the sealed file itself, or, when
the session's range ends inside the segment, a cut made for this one request.

The cut is written into its own scratch directory under ``scratch_root`` and is the caller's to
:meth:`SegmentMedia.discard` once sent; a cut that fails leaves nothing behind. Whether the
segment may be seen at all is :meth:`custos.services.footage.FootageService.segment_media`'s
decision (registered there); this service only turns its answer into a file.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from custos.domain.recording import Segment
from custos.domain.users import Principal
from custos.services.ports import SegmentCutter

#: (actor, session id, segment id) → the segment, its file, and the cut in seconds into it.
Locate = Callable[[Principal, int, int], tuple[Segment, Path, float | None, float | None]]


@dataclass(frozen=True)
class SegmentMedia:
    """The MP4 to send. ``scratch``: made for this request, to discard once sent."""

    path: Path
    scratch: bool

    def discard(self) -> None:
        """Remove a cut and its scratch directory; a sealed segment is never touched."""
        if self.scratch:
            shutil.rmtree(self.path.parent, ignore_errors=True)


class SegmentMediaService:
    def __init__(self, locate: Locate, cutter: SegmentCutter, scratch_root: Path) -> None:
        self._locate = locate
        self._cutter = cutter
        self._scratch_root = scratch_root

    def media(self, actor: Principal, session_id: int, segment_id: int) -> SegmentMedia:
        """The segment as the session may see it; raises what ``locate`` raises (refusals,
        not found) and :class:`OSError` when the cut fails or runs out of time."""
        seg, path, cut_from, cut_to = self._locate(actor, session_id, segment_id)
        if cut_from is None and cut_to is None:
            return SegmentMedia(path, scratch=False)
        self._scratch_root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="cut-", dir=self._scratch_root))
        cut = SegmentMedia(work / f"{seg.id}.mp4", scratch=True)
        try:
            self._cutter.cut(path, cut.path, cut_from, cut_to)
        except BaseException:
            cut.discard()
            raise
        return cut
