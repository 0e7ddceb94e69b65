"""The Cluster page (集群) in Chromium, in Chinese, on a PostgreSQL where two recorder nodes
share five cameras through RecorderLeases and a sixth camera in service has no holder: both
nodes with their cameras, the unrecorded camera, the timed duties' holder, no English sentence;
then node B goes stale and the page, refreshed, says so. An operator has no link to it and is
refused the page."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Page, expect

from custos.bootstrap import Container, bootstrap
from custos.config import Settings
from custos.domain.access import Role
from custos.domain.clock import SystemClock
from custos.domain.users import SYSTEM
from custos.entrypoints.api.app import create_app
from tests.conftest import _truncate
from tests.integration.cluster_status_world import TwoNodes, make_stale, register_cameras, shared
from tests.ports import free_port
from tests.web.conftest import PASSWORD, shot
from tests.web.test_zh_text import VISIBLE_TEXT, latin_sentences


@pytest.fixture
def cluster(pg_url: str, tmp_path: Path) -> Iterator[tuple[str, TwoNodes, list[int]]]:
    c: Container = bootstrap(
        Settings(data_dir=tmp_path / "data", database_url=pg_url), clock=SystemClock()
    )
    _truncate(c.engine)
    w = shared(c)
    extra = register_cameras(c, 1, first=6)
    c.duty_leases.renew()
    unit = c.registry.list_units(SYSTEM)[0].id
    c.auth.create_user(SYSTEM, "auditor", Role.AUDITOR, PASSWORD, None)
    c.auth.create_user(SYSTEM, "watcher", Role.OPERATOR, PASSWORD, unit)
    port = free_port()
    config = uvicorn.Config(
        create_app(c), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        pytest.fail("uvicorn did not start")
    yield f"http://127.0.0.1:{port}", w, extra
    server.should_exit = True
    thread.join(10)
    c.duty_leases.stop()
    c.close()


def _login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/ui/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/ui/")


def test_the_cluster_page_shows_both_nodes_their_cameras_and_the_unrecorded_camera_in_zh(
    page: Page, cluster: tuple[str, TwoNodes, list[int]]
) -> None:
    base, w, extra = cluster
    _login(page, base, "auditor")
    page.click("nav a[data-nav='nav.cluster']")
    page.wait_for_url("**/ui/cluster")
    expect(page.locator("h1")).to_have_text("集群")
    expect(page.locator("#cluster-mode")).to_contain_text(
        "录像节点 2 个（在线 2 个），在用摄像机 6 路"
    )
    a, b = page.locator("tr[data-node='node-a']"), page.locator("tr[data-node='node-b']")
    expect(a.locator("[data-cameras]")).to_have_attribute("data-cameras", ",".join(map(str, w.cameras[:3])))  # fmt: skip
    expect(b.locator("[data-cameras]")).to_have_attribute("data-cameras", ",".join(map(str, w.cameras[3:])))  # fmt: skip
    expect(a).to_contain_text("10.0.0.1:8081")
    expect(a).to_contain_text("运行中")
    expect(b.locator("[data-live]")).to_have_text("是")
    unrecorded = page.locator("#cluster-unrecorded tr[data-camera]")
    expect(unrecorded).to_have_count(1)
    expect(unrecorded).to_have_attribute("data-camera", str(extra[0]))
    expect(page.locator("#cluster-unrecorded")).to_contain_text("其中 1 路从未被租用。")
    expect(page.locator("#cluster-problems")).to_have_text("1 路在用摄像机无在线节点录制。")
    expect(page.locator("#cluster-duties tr[data-duty='housekeeping']")).to_contain_text("日常维护")
    expect(page.locator("#cluster-offload")).to_contain_text("未配置对象存储")
    texts: list[str] = page.evaluate(VISIBLE_TEXT)
    assert latin_sentences(texts, {"auditor"}) == [], texts  # the username is data
    shot(page, "70-cluster-zh")

    make_stale(w.db, "node-b")
    page.click("#cluster-refresh")
    expect(b.locator("[data-live]")).to_have_text("否")
    expect(page.locator("#cluster-unrecorded tr[data-camera]")).to_have_count(3)
    expect(page.locator("#cluster-problems li[data-problem='dead_holder']")).to_have_text(
        "节点 node-b 已离线，仍持有 2 个租约。"
    )
    expect(page.locator("#cluster-problems li[data-problem='unrecorded']")).to_have_text(
        "3 路在用摄像机无在线节点录制。"
    )
    shot(page, "71-cluster-zh-stale")

    page.context.clear_cookies()
    _login(page, base, "watcher")
    expect(page.locator("nav a[data-nav='nav.cluster']")).to_have_count(0)
    assert page.goto(f"{base}/ui/cluster").status == 403  # type: ignore[union-attr]
