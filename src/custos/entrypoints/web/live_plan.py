"""Which feed one live viewer gets (docs/design/live.md, sections 1 and 2), and the changes an
H.265 stream forces on a browser that cannot decode it. ``live.py`` relays what this opens."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from custos.services.live_feed import (
    PULL_QUEUE_BYTES,
    CameraStreams,
    LiveFeeds,
    Piece,
    file_pieces,
    is_hevc,
    open_tap,
    pull_pieces,
    relay_pieces,
)
from custos.services.live_pull import PullFailedError, PullLease
from custos.services.live_tail import LiveFollower, mtime, newest_segment, recording_now

if TYPE_CHECKING:
    from custos.bootstrap import Services

log = logging.getLogger(__name__)
RECHECK_S = 5.0  # in a cluster: the file here not growing this long, look for a node's feed
SUBSCRIBE_WAIT_S = 3.0  # a pulled stream's connection awaited this long, then tried again


@dataclass
class Source:
    """An open feed, what to close if it is never read, and where it comes from (``tap``,
    ``node``, ``file``)."""

    camera_id: int
    pieces: AsyncIterator[Piece]
    cleanup: Callable[[], None] | None = None
    source: str = "tap"


class Plan:
    """The stream a viewer watches (``want``: main or sub), the path its tile shows (``path``),
    and whether it is transcoded. ``hevc``: the browser decodes H.265."""

    def __init__(
        self,
        c: Services,
        feeds: LiveFeeds,
        streams: CameraStreams,
        stream: str,
        hevc: bool,
        waits: Executor,
    ) -> None:
        self._c = c
        self._feeds = feeds
        self._streams = streams
        self._waits = waits
        self.want = "sub" if stream == "sub" and streams.sub_url else "main"
        self.hevc = hevc
        self.transcode = False
        self._sub_for_main = False  # watching the sub stream only because main is H.265
        self._lease: PullLease | None = None
        self._tap_ended_at: float | None = None  # Unix seconds
        if not hevc and is_hevc(feeds.codec_seen(streams.camera_id, self.want)):
            self.avoid_hevc()  # known from an earlier viewer: no round trip through it

    @property
    def path(self) -> str:
        return "transcoded" if self.transcode else self.want

    def avoid_hevc(self) -> None:
        """The stream is H.265 and the browser cannot decode it: the sub stream if it may be
        H.264, else a transcode of the stream asked for."""
        cid = self._streams.camera_id
        sub_ok = not is_hevc(self._feeds.codec_seen(cid, "sub"))
        if self.want == "main" and self._streams.sub_url and sub_ok and not self._sub_for_main:
            self.want, self._sub_for_main = "sub", True
        elif self._sub_for_main:  # the sub stream is H.265 too
            self.want, self.transcode = "main", True
            self.release()
        else:
            self.transcode = True

    async def open(self, shown: bool) -> Source | None:
        """The best feed there is now; None when there is none (the caller says why and tries
        again). ``shown``: the viewer has a picture already (an old file's last GOP is not sent
        to it again)."""
        if self.want == "sub":
            return await self._open_sub()
        return await self._open_main(shown)

    def ended(self, found: Source) -> None:
        """A feed ended. After a tap's, this machine's file (written by the same session, so
        it ends too) is not followed unless it grows again: its last GOP is not live."""
        if found.source == "tap" and self.want == "main":
            self._tap_ended_at = time.time()

    def release(self) -> None:
        if self._lease is not None:
            self._lease.release()
            self._lease = None

    async def _open_main(self, shown: bool) -> Source | None:
        cid = self._streams.camera_id
        tap = self._feeds.tap_path(cid, "main")
        try:
            return Source(cid, *await open_tap(tap))
        except OSError:
            pass
        media_root = self._c.settings.resolved_media_dir()
        cluster = self._c.cluster_media
        here = recording_now(media_root, cid, time.time())
        if cluster is not None and not here:
            node = await asyncio.to_thread(cluster.live_source, cid)
            if node is not None:
                try:
                    return Source(cid, relay_pieces(cluster.live(node, cid)), source="node")
                except OSError as exc:
                    log.info("camera %s: node %s not asked: %s", cid, node.name, exc)
        if shown and not here:
            return None  # nothing new in the file: wait for the tap (or the file) to come back
        if (
            here
            and self._tap_ended_at is not None
            and not _grew_since(media_root, cid, self._tap_ended_at)
        ):
            return None  # the ended session's file: wait for the next session's tap
        waited_from = time.monotonic()

        def give_up() -> bool:
            """A tap appeared; or, in a cluster, the file has not grown for a while."""
            nonlocal waited_from
            if tap.exists():
                return True
            if cluster is None or recording_now(media_root, cid, time.time()):
                waited_from = time.monotonic()
                return False
            return time.monotonic() - waited_from >= RECHECK_S

        pieces = file_pieces(LiveFollower(media_root, cid), time.time, give_up)
        return Source(cid, pieces, source="file")

    async def _open_sub(self) -> Source | None:
        cid = self._streams.camera_id
        try:
            return Source(cid, *await open_tap(self._feeds.tap_path(cid, "sub")))
        except OSError:
            pass  # the recorder does not record it: pulled here
        url = self._streams.sub_url
        if url is None:
            return None
        if self._lease is None:
            self._lease = self._feeds.attach_pull(cid, "sub", url)
            if self._lease is None:
                return None
        lease = self._lease
        loop = asyncio.get_running_loop()
        try:
            sub = await loop.run_in_executor(
                self._waits, lease.subscribe, PULL_QUEUE_BYTES, SUBSCRIBE_WAIT_S
            )
        except PullFailedError as exc:
            # a tile is better served by the main stream than by nothing (the reason is free
            # of the URL: the pull says why without it)
            log.info("camera %s: sub stream not pulled (%s): the main stream instead", cid, exc)
            self.release()
            self.want = "main"
            self.transcode = self._sub_for_main  # main is H.265 and the browser lacks it
            return None
        return Source(cid, pull_pieces(sub), sub.close)


def _grew_since(media_root: Path, camera_id: int, at: float) -> bool:
    """Whether the camera's newest file was written more than a second after ``at``."""
    newest = newest_segment(media_root, camera_id)
    return newest is not None and mtime(newest) > at + 1.0
