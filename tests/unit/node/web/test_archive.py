from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydicom import dcmread
from sqlalchemy import func, select
from web_support import BEARER, Seeded, login

from node.archive import ArchiveQuery, ArchiveQueryError, index_new_results
from node.archive.index import grades_of
from node.archive.retention import cleanup_originals, may_delete_originals
from node.registry.models import ArchiveEntry, Delivery, DeliveryState, Instance, Study, StudyState


def archive(client: TestClient, **params: str) -> list[dict]:
    response = client.get("/api/archive", params=params, headers=BEARER)
    assert response.status_code == 200, response.text
    return list(response.json())


def test_every_sr_is_indexed_once_with_grades_flags_codes_and_chain(client: TestClient, seeded: Seeded) -> None:
    rows = archive(client)
    assert [r["sop_instance_uid"] for r in rows] == seeded.sr_uids[::-1]  # newest first
    newest, first = rows
    assert newest["grades"]["csf_leak"] == "DEFINITE" and newest["flags"] == ["CSF leak DEFINITE"]
    assert "99SPINENODE:SN001" in newest["codes"] and "DCM:126000" in newest["codes"]
    assert newest["amends"] == first["sop_instance_uid"] and first["amended_by"] == newest["sop_instance_uid"]
    assert newest["patient_key"] == "k" * 16 and newest["study_date"] == "20261119"
    assert newest["revision"] == 2 and newest["issued_at"] == "2026-11-12T09:00:00"
    with seeded.runtime.registry.session() as s:
        assert index_new_results(s) == 0
        assert s.scalar(select(func.count(ArchiveEntry.id))) == 2


def test_filters(client: TestClient, seeded: Seeded) -> None:
    newest, first = seeded.sr_uids[1], seeded.sr_uids[0]
    uids = lambda rows: [r["sop_instance_uid"] for r in rows]  # noqa: E731
    assert uids(archive(client, grade="csf_leak:DEFINITE")) == [newest, first]
    assert uids(archive(client, grade="csf_leak:definite")) == [newest, first]
    assert archive(client, grade="ich:CONFIRMED") == []
    assert uids(archive(client, since="2026-11-12")) == [newest]
    assert uids(archive(client, until="2026-11-11")) == [first]
    assert uids(archive(client, since="2026-11-11T09:00:00", until="2026-11-11T09:00:00")) == [first]
    assert uids(archive(client, flag="csf leak")) == [newest, first]
    assert archive(client, flag="ADC") == []
    assert uids(archive(client, patient_key="k" * 16)) == [newest, first]
    assert archive(client, patient_key="other") == []
    assert uids(archive(client, code="99SPINENODE:SN001")) == [newest, first]
    assert uids(archive(client, current="true")) == [newest]
    assert uids(archive(client, limit="1")) == [newest]


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"grade": "DEFINITE"}, "grade:"),
        ({"grade": "color:RED"}, "grade:"),
        ({"since": "last week"}, "since:"),
        ({"until": "2026-13-01"}, "until:"),
        ({"since": "2026-11-20", "until": "2026-11-01"}, "is after until"),
        ({"patient_key": "DOE^JANE"}, "patient_key:"),
        ({"limit": "0"}, "limit:"),
    ],
)
def test_invalid_filters_are_422_naming_the_parameter(
    client: TestClient, seeded: Seeded, params: dict[str, str], needle: str
) -> None:
    response = client.get("/api/archive", params=params, headers=BEARER)
    assert response.status_code == 422 and needle in response.json()["detail"]
    with pytest.raises(ArchiveQueryError, match=needle.split(":")[0]):
        ArchiveQuery.parse(**{k: int(v) if k == "limit" else v for k, v in params.items()})  # type: ignore[arg-type]


def test_sr_download_is_the_dicom_file(client: TestClient, seeded: Seeded, tmp_path: Path) -> None:
    response = client.get(f"/api/archive/{seeded.sr_uids[1]}/sr.dcm", headers=BEARER)
    assert response.status_code == 200 and response.headers["content-type"] == "application/dicom"
    (tmp_path / "x.dcm").write_bytes(response.content)
    assert dcmread(tmp_path / "x.dcm").SOPInstanceUID == seeded.sr_uids[1]
    assert client.get("/api/archive/1.2.3.4/sr.dcm", headers=BEARER).status_code == 404
    assert client.get("/api/archive/not-a-uid/sr.dcm", headers=BEARER).status_code == 422


def test_archive_page_filters_and_shows_errors(client: TestClient, seeded: Seeded) -> None:
    login(client)
    page = client.get("/archive", params={"grade": "csf_leak:DEFINITE", "current": "on"})
    assert page.status_code == 200
    assert seeded.sr_uids[1] in page.text and f"/api/archive/{seeded.sr_uids[0]}/sr.dcm" not in page.text
    everything = client.get("/archive").text
    rows = everything[everything.index("<tbody>") :]
    assert "MR C-T spine" in rows and "2026-11-19" in rows, "description and date, not a bare study date"
    assert "CSF leak: definite" in rows and "csf_leak" not in rows
    assert "amended by revision 2" in rows and "amends revision 1" in rows
    bad = client.get("/archive", params={"since": "yesterday"})
    assert bad.status_code == 422 and "since: not an ISO date" in bad.text


def test_grades_of_reads_the_criteria_result() -> None:
    assert grades_of(None) == {}
    assert grades_of({"csf_leak": {"grade": "DEFINITE"}, "ebp": {"eligible": True}, "per_exam": {"x": {}}}) == {
        "csf_leak": "DEFINITE",
        "ebp_eligible": True,
    }


NOW = datetime(2026, 12, 1)


@pytest.mark.parametrize(
    ("days", "age_days", "state", "deliveries", "expected"),
    [
        (30, 31, "delivered", ["delivered"], True),
        (30, 31, "delivered", [], True),
        (30, 29, "delivered", ["delivered"], False),  # too young
        (0, 999, "delivered", ["delivered"], False),  # retention off
        (30, 31, "reported", ["pending"], False),  # results not delivered
        (30, 31, "delivered", ["delivered", "dead"], False),  # a dead letter keeps them
        (30, 31, "delivered", ["delivered", "sending"], False),
        (30, 31, "failed", [], False),
    ],
)
def test_retention_decision(days: float, age_days: float, state: str, deliveries: list[str], expected: bool) -> None:
    decided = may_delete_originals(
        retention_days=days,
        last_received_at=NOW - timedelta(days=age_days),
        now=NOW,
        study_state=state,
        delivery_states=deliveries,
    )
    assert decided is expected


def test_retention_days_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="retention_days"):
        may_delete_originals(
            retention_days=-1, last_received_at=NOW, now=NOW, study_state="delivered", delivery_states=[]
        )


def test_cleanup_deletes_only_delivered_old_originals(seeded: Seeded) -> None:
    registry = seeded.runtime.registry
    with registry.session() as s:
        stat = s.scalar(select(Study).where(Study.study_uid == seeded.stat_uid))
        assert stat is not None
        stat.state = StudyState.DELIVERED  # but its delivery is dead: must be kept
        paths = {u: [i.path for i in s.scalars(select(Instance))] for u in ("all",)}["all"]
    with registry.session() as s:
        report = cleanup_originals(s, 1, now=datetime(2026, 11, 25))
    assert (report.studies, report.files, report.bytes) == (1, 2, 20)
    with registry.session() as s:
        left = {s.get(Study, i.series.study_id).study_uid for i in s.scalars(select(Instance))}  # type: ignore[union-attr]
    assert left == {seeded.routine_uid, seeded.stat_uid}
    assert sum(Path(p).exists() for p in paths) == 4
    with registry.session() as s:
        assert cleanup_originals(s, 1, now=datetime(2026, 11, 25)).studies == 0  # idempotent
        assert cleanup_originals(s, 0).studies == 0
        dead = s.scalar(select(Delivery).where(Delivery.state == DeliveryState.DEAD))
        assert dead is not None
        dead.state = DeliveryState.DELIVERED
    with registry.session() as s:
        assert cleanup_originals(s, 1, now=datetime(2026, 11, 25)).studies == 1
