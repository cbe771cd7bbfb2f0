from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse
from pypdf import PdfReader

from engagements.models import Activity, GateReview, ReviewPack, SignOff
from engagements.review.services import review_pack_finish, review_pack_request
from engagements.services import criterion_create, gate_evaluate, risk_create, signoff_record, stakeholder_create
from tests.engagements.review_builders import built_by_worker, finished_pack, pack_evidence


def _pdf_text(pack: ReviewPack) -> tuple[str, int]:
    with pack.pdf.open("rb") as handle:
        reader = PdfReader(BytesIO(handle.read()))
    return "\n".join(page.extract_text() for page in reader.pages), len(reader.pages)


@pytest.mark.django_db(transaction=True)
def test_the_worker_builds_a_pack_whose_pdf_carries_every_section_and_its_charts(
    roi_engagement: Any, fde: Any, celery_worker: Any
) -> None:
    engagement = roi_engagement
    stakeholder_create(engagement=engagement, actor=fde, name="Priya Sponsor", role="sponsor", email="p@acme.test")
    risk_create(
        engagement=engagement, actor=fde, title="Scanned forms unreadable", likelihood=4, impact=4,
        visible_to_client=True,
    )  # fmt: skip
    risk_create(engagement=engagement, actor=fde, title="INTERNAL-RISK staffing gap", likelihood=4, impact=4)
    criterion_create(
        engagement=engagement, actor=fde, phase=engagement.phase, label="Sponsor signed off", kind="metric",
        provider_key="engagements.signoffs", threshold=1, visible_to_client=True,
    )  # fmt: skip
    criterion_create(engagement=engagement, actor=fde, phase=engagement.phase, label="INTERNAL-CRITERION margin")
    pack_evidence(engagement, fde)  # so the scorecard and the latency charts are drawn

    pack = built_by_worker(engagement, fde)
    assert pack.progress == pack.total and pack.version == 1
    text, pages = _pdf_text(pack)
    assert pages == pack.pdf_pages and pages >= 2
    for heading in ("Exit criteria and their evidence", "Evaluation scorecard", "Return on investment",
                    "Open risks and requirements", "Stakeholder sign-offs", "Latency against the SLA"):  # fmt: skip
        assert heading in text
    assert "Sponsor signed off" in text and "Stakeholder sign-offs (engagements.signoffs)" in text
    assert "Scanned forms unreadable" in text and "Priya Sponsor" in text
    # The ROI chart's own labels are in the PDF as text: Plotly drew it and Chromium printed it as vectors.
    # (The legend's "Investment": the figure's label prints in capitals. Its "(forecast)" part is not asserted: once
    # the clock passes the scenario's last month there is no forecast left to draw.)
    assert "Go-live" in text and "Investment" in text
    # So are the scorecard's and the latency chart's: their axis titles and legend are on no table.
    assert "score (95% interval)" in text and "hit@k" in text and "Claims questions" in text
    assert "ms (dashed: SLA)" in text and "Time to first token p95" in text and "End to end p95" in text
    # The pack is shared with the client: nothing an FDE did not mark visible to the client.
    hidden = ("INTERNAL-RATE-NOTE", "187.35", "43.21", "INTERNAL-SCENARIO-NOTE", "INTERNAL-RISK", "INTERNAL-CRIT")
    for internal in hidden:
        assert internal not in text
    assert Activity.objects.filter(engagement=engagement, verb__contains="shared the").exists()


@pytest.mark.django_db
def test_a_second_pack_of_the_same_gate_is_the_next_version(engagement: Any, fde: Any) -> None:
    first = finished_pack(engagement, fde)
    second = review_pack_request(engagement=engagement, actor=fde)
    assert (first.version, second.version) == (1, 2)


@pytest.mark.django_db
def test_a_second_build_while_one_is_running_is_refused(engagement: Any, fde: Any) -> None:
    from django.core.exceptions import ValidationError

    review_pack_request(engagement=engagement, actor=fde)
    with pytest.raises(ValidationError, match="already being built"):
        review_pack_request(engagement=engagement, actor=fde)


def _signoff_criterion(engagement: Any, fde: Any) -> Any:
    return criterion_create(
        engagement=engagement, actor=fde, phase=engagement.phase, label="Sponsor approved the gate", kind="metric",
        provider_key="engagements.signoffs", threshold=1,
    )  # fmt: skip


def _criterion_value(engagement: Any, criterion: Any) -> tuple[float | None, bool]:
    status = next(s for s in gate_evaluate(engagement=engagement) if s.criterion.pk == criterion.pk)
    return status.value, status.passed


@pytest.mark.django_db
def test_a_client_stakeholders_approval_is_counted_by_the_signoff_criterion(
    engagement: Any, fde: Any, client_admin: Any
) -> None:
    from tests.conftest import _logged_in

    stakeholder_create(engagement=engagement, actor=fde, name="Ada Admin", role="sponsor", email="ADMIN@acme.test")
    criterion = _signoff_criterion(engagement, fde)
    pack = finished_pack(engagement, fde)
    assert _criterion_value(engagement, criterion) == (0.0, False)

    http = _logged_in(client_admin)
    url = reverse("portal:review_pack_signoff", args=[pack.uuid])
    response = http.post(url, {"decision": "approved", "comment": ""}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert 'data-decision="approved"' in response.content.decode()
    assert _criterion_value(engagement, criterion) == (1.0, True)
    signoff = SignOff.objects.get(engagement=engagement, phase=pack.phase)
    assert signoff.recorded_by == client_admin
    activity = Activity.objects.filter(engagement=engagement, actor=client_admin).first()
    assert activity is not None and "approved the" in activity.verb and activity.target == "v1"


@pytest.mark.django_db
def test_asking_for_changes_needs_a_comment_and_withdraws_the_signoff(
    engagement: Any, fde: Any, client_admin: Any
) -> None:
    from tests.conftest import _logged_in

    sponsor = stakeholder_create(engagement=engagement, actor=fde, name="Ada", role="sponsor", email="admin@acme.test")
    signoff_record(stakeholder=sponsor, actor=fde)
    criterion = _signoff_criterion(engagement, fde)
    pack = finished_pack(engagement, fde)
    http = _logged_in(client_admin)
    url = reverse("portal:review_pack_signoff", args=[pack.uuid])

    refused = http.post(url, {"decision": "changes", "comment": "  "}, headers={"HX-Request": "true"})
    assert refused.status_code == 400 and "needs a comment" in refused.content.decode()
    assert _criterion_value(engagement, criterion) == (1.0, True)

    http.post(url, {"decision": "changes", "comment": "Show the error cases by carrier."})
    assert _criterion_value(engagement, criterion) == (0.0, False)
    review = GateReview.objects.get(pack=pack)
    assert review.decision == "changes" and review.comment == "Show the error cases by carrier."


@pytest.mark.django_db
def test_only_the_latest_version_can_be_signed_off(engagement: Any, fde: Any, client_admin: Any) -> None:
    from tests.conftest import _logged_in

    stakeholder_create(engagement=engagement, actor=fde, name="Ada", role="sponsor", email="admin@acme.test")
    old = finished_pack(engagement, fde)
    finished_pack(engagement, fde)
    response = _logged_in(client_admin).post(
        reverse("portal:review_pack_signoff", args=[old.uuid]), {"decision": "approved"}
    )
    assert response.status_code == 400 and "newer version" in response.content.decode()
    assert not SignOff.objects.exists()


@pytest.mark.django_db
def test_a_client_user_who_is_no_stakeholder_cannot_sign_off(engagement: Any, fde: Any, client_member: Any) -> None:
    from tests.conftest import _logged_in

    pack = finished_pack(engagement, fde)
    http = _logged_in(client_member)
    page = http.get(reverse("portal:review_pack", args=[pack.uuid]))
    assert page.status_code == 200 and "Only the engagement's stakeholders sign off" in page.content.decode()
    response = http.post(reverse("portal:review_pack_signoff", args=[pack.uuid]), {"decision": "approved"})
    assert response.status_code == 403
    assert not SignOff.objects.exists()


@pytest.mark.django_db
def test_a_stakeholder_with_the_same_address_at_another_client_cannot_sign_off(
    engagement: Any, fde: Any, outsider: Any
) -> None:
    from tests.conftest import _logged_in

    stakeholder_create(engagement=engagement, actor=fde, name="Spoof", role="sponsor", email=outsider.email)
    pack = finished_pack(engagement, fde)
    http = _logged_in(outsider)
    for name in ("portal:review_pack", "portal:review_pack_pdf"):
        assert http.get(reverse(name, args=[pack.uuid])).status_code == 404
    response = http.post(reverse("portal:review_pack_signoff", args=[pack.uuid]), {"decision": "approved"})
    assert response.status_code == 404
    assert not SignOff.objects.exists()


@pytest.mark.django_db
def test_a_pack_still_building_is_not_in_the_portal(engagement: Any, fde: Any, client_member: Any) -> None:
    from tests.conftest import _logged_in

    pack = review_pack_request(engagement=engagement, actor=fde)
    assert _logged_in(client_member).get(reverse("portal:review_pack", args=[pack.uuid])).status_code == 404


@pytest.mark.django_db
def test_client_users_get_404_on_the_workspace_pack_routes(engagement: Any, fde: Any, client_admin: Any) -> None:
    from tests.conftest import _logged_in

    pack = finished_pack(engagement, fde)
    http = _logged_in(client_admin)
    for url in (
        reverse("engagements:review_packs", args=[engagement.uuid]),
        reverse("engagements:review_pack", args=[engagement.uuid, pack.uuid]),
        reverse("engagements:review_pack_pdf", args=[engagement.uuid, pack.uuid]),
        reverse("jobs:progress", args=[ReviewPack.job_kind, pack.uuid]),
    ):
        assert http.get(url).status_code == 404


@pytest.mark.django_db
def test_the_pdf_downloads_for_the_clients_own_users(engagement: Any, fde: Any, client_member: Any) -> None:
    from tests.conftest import _logged_in

    pack = finished_pack(engagement, fde)
    response = _logged_in(client_member).get(reverse("portal:review_pack_pdf", args=[pack.uuid]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert engagement.name not in response["Content-Disposition"]
    assert response.getvalue().startswith(b"%PDF")


@pytest.mark.django_db
def test_stakeholders_who_have_not_signed_off_are_emailed_when_the_pack_is_ready(
    engagement: Any, fde: Any, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.SITE_URL = "https://fde.example.com"
    waiting = stakeholder_create(engagement=engagement, actor=fde, name="Wai", role="sponsor", email="wai@acme.test")
    signed = stakeholder_create(engagement=engagement, actor=fde, name="Sig", role="champion", email="sig@acme.test")
    stakeholder_create(engagement=engagement, actor=fde, name="No Mail", role="it")
    signoff_record(stakeholder=signed, actor=fde)
    pack = review_pack_request(engagement=engagement, actor=fde)

    with django_capture_on_commit_callbacks(execute=True):
        review_pack_finish(pack=pack)

    assert [m.to for m in mail.outbox] == [[waiting.email]]
    message = mail.outbox[0]
    assert "awaits your sign-off" in message.subject and engagement.name in message.subject
    assert f"https://fde.example.com/portal/review-packs/{pack.uuid}/" in message.body
    pack.refresh_from_db()
    assert pack.notified_at is not None


@pytest.mark.django_db
def test_an_fde_sees_the_build_form_and_starts_a_build(engagement: Any, fde_http: Any) -> None:
    url = reverse("engagements:review_packs", args=[engagement.uuid])
    assert 'id="build-pack"' in fde_http.get(url).content.decode()
    response = fde_http.post(url, {"phase": engagement.phase}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'data-job-kind="review-pack"' in response.content.decode()
    assert ReviewPack.objects.get(engagement=engagement).status == "queued"


@pytest.mark.django_db
def test_cancelling_a_queued_pack_cancels_it_and_retry_queues_it_again(
    engagement: Any, fde: Any, fde_http: Any
) -> None:
    pack = review_pack_request(engagement=engagement, actor=fde)
    fde_http.post(reverse("jobs:cancel", args=[ReviewPack.job_kind, pack.uuid]))
    pack.refresh_from_db()
    assert pack.status == "cancelled"
    fde_http.post(reverse("jobs:retry", args=[ReviewPack.job_kind, pack.uuid]))
    pack.refresh_from_db()
    assert (pack.status, pack.cancel_requested) == ("queued", False)


@pytest.mark.django_db
def test_cancelling_a_pack_while_it_builds_stops_it_at_the_next_section_and_shares_nothing(
    engagement: Any, fde: Any, fde_http: Any, client_member: Any, monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    import dataclasses

    from engagements.review import pdf, services
    from engagements.review.selectors import review_pack_latest
    from tests.conftest import _logged_in

    stakeholder_create(engagement=engagement, actor=fde, name="Wai", role="sponsor", email="wai@acme.test")
    shared = finished_pack(engagement, fde)
    pack = review_pack_request(engagement=engagement, actor=fde)
    built: list[str] = []
    sections = services.all_sections()

    def building(section: Any) -> Any:
        def fn(ctx: Any) -> Any:
            built.append(section.key)
            if len(built) == 1:  # the team presses Cancel while the first section is being built
                fde_http.post(reverse("jobs:cancel", args=[ReviewPack.job_kind, pack.uuid]))
            return section.fn(ctx)

        return dataclasses.replace(section, fn=fn)

    monkeypatch.setattr(services, "all_sections", lambda: [building(s) for s in sections])
    monkeypatch.setattr(pdf, "print_pdf", lambda *args, **kwargs: pytest.fail("a cancelled pack was printed"))
    with django_capture_on_commit_callbacks(execute=True):
        services.review_pack_execute(pack_id=pack.pk)

    pack.refresh_from_db()
    assert len(sections) > 1 and built == [sections[0].key]
    assert (pack.status, pack.cancel_requested, pack.progress) == ("cancelled", True, 1)
    assert pack.content == {} and not pack.pdf and pack.finished_at is not None
    # Nothing was published: no e-mail, no "shared" in the feed, the portal keeps offering the last built version.
    assert mail.outbox == [] and not Activity.objects.filter(verb__contains="shared the", target="v2").exists()
    assert review_pack_latest(engagement=engagement, phase=pack.phase) == shared
    assert _logged_in(client_member).get(reverse("portal:review_pack", args=[pack.uuid])).status_code == 404
