"""The operating records in the browser (Chinese): a unit manager files a staff member (the
ID-card number is shown masked, a wrong one refused naming the field), records a training, and
takes a work order through assign and repair; verifying one's own repair is refused."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.web.conftest import Site, login, shot


def test_a_manager_keeps_the_archive_and_a_work_order_in_chinese(page: Page, site: Site) -> None:
    login(page, site, "manager")
    page.goto(f"{site.base}/ui/operations")
    form = page.locator("#staff-form")
    form.locator("[name=name]").fill("张三")
    form.locator("[name=id_number]").fill("110105194912310021")  # wrong check digit
    form.locator("[name=hired_on]").fill("2025-03-01")
    form.locator("button[type=submit]").click()
    expect(form.locator("[data-errors] .refusal[data-field=id_number]")).to_contain_text(
        "身份证号码的校验码不符"
    )
    form.locator("[name=id_number]").fill("11010519491231002X")
    form.locator("button[type=submit]").click()
    expect(page.locator("#flash")).to_contain_text("已录入档案")
    row = page.locator("#staff-list tr[data-staff]").filter(has_text="张三").first
    expect(row).to_contain_text("110105********002X")
    expect(row).to_contain_text("监看人员")
    expect(page.locator("#staff-list")).not_to_contain_text("11010519491231002X")

    training = page.locator("#training-form")
    training.locator("[name=held_on]").fill("2025-03-02")
    training.locator("[name=contents]").select_option(["skills", "confidentiality"])
    training.locator("[name=trainer]").fill("技防办")
    training.locator("[name=hours]").fill("8")
    training.locator("[name=attendee_ids]").select_option(label="张三")
    training.locator("button[type=submit]").click()
    expect(page.locator("#training-list")).to_contain_text("保密知识、岗位技能")

    order = page.locator("#order-form")
    order.locator("[name=description]").fill("画面模糊")
    order.locator("button[type=submit]").click()
    expect(page.locator("#flash")).to_contain_text("已新建工单")
    row = page.locator("#order-list tr[data-order]").filter(has_text="画面模糊").last
    expect(row).to_contain_text("待派单")
    row.locator("button[data-act=assign]").click()
    row = page.locator("#order-list tr[data-order]").filter(has_text="画面模糊").last
    expect(row).to_contain_text("已派单")
    row.locator("button[data-act=repair]").click()
    row = page.locator("#order-list tr[data-order]").filter(has_text="画面模糊").last
    expect(row).to_contain_text("已修复")
    row.locator("button[data-act=verify]").click()
    expect(page.locator("#order-error")).to_contain_text("维修须由修复人以外的人员验收")

    plan = page.locator("#plan-form")
    plan.locator("[name=title]").fill("视频系统突发事件处置预案")
    plan.locator("[name=version]").fill("2026.1")
    plan.locator("[name=approved_on]").fill("2026-01-05")
    plan.locator("[name=approved_by]").fill("单位负责人")
    plan.locator("[name=document_sha256]").fill("ab" * 32)
    plan.locator("button[type=submit]").click()
    expect(page.locator("#plan-list")).to_contain_text("视频系统突发事件处置预案")
    contractor = page.locator("#contractor-form")
    contractor.locator("[name=name]").fill("某维保公司")
    contractor.locator("button[type=submit]").click()
    expect(page.locator("#contractor-list")).to_contain_text("某维保公司")
    expect(page.locator("#ops-findings")).to_contain_text("某维保公司")  # no agreement yet
    schedule = page.locator("#schedule-form")
    schedule.locator("[name=interval_days]").fill("45")  # longer than Decree 799's 30 days
    schedule.locator("[name=starts_on]").fill("2026-01-05")
    schedule.locator("button[type=submit]").click()
    refusal = schedule.locator("[data-errors] .refusal[data-field=interval_days]")
    expect(refusal).to_contain_text("检查周期不得超过 30 日")
    expect(refusal).to_contain_text("national-2025:art15.p1")
    schedule.locator("[name=interval_days]").fill("7")
    schedule.locator("button[type=submit]").click()
    expect(page.locator("#schedule-list tr[data-schedule]").first).to_contain_text("整个系统")
    shot(page, "40-operations-records")
