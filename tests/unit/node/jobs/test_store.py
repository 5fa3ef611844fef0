"""The job's registry reads and writes (node.jobs.store) on a real SQLite registry, without running the
pipeline: the context a job starts from, what a report saves (results, the candidates as JSON, the
deliveries by kind), and a job another worker took over, whose outcome is discarded."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from jobs_support import make_runtime, receive
from sqlalchemy import select

from node.jobs import store
from node.registry.models import (
    Delivery,
    DeliveryKind,
    EntrySource,
    FindingEntry,
    FindingStatus,
    Job,
    JobState,
    Result,
    ResultKind,
    Study,
    StudyState,
)
from node.runtime import Runtime
from workers.analysis.base import AREA_CODE, CandidateFinding, Measurement
from workers.pipeline import PipelineContext
from workers.pipeline.candidates import candidate_key
from workers.pipeline.context import ResultObject

PACS = {"name": "pacs", "ae_title": "PACS", "host": "127.0.0.1", "port": 4242}
RIS = {"name": "ris", "kind": "hl7_mllp", "host": "127.0.0.1", "port": 2575}
FLUID = {"exam": "spinal_mri", "kind": "epidural_fluid", "levels": ["C7", "T2"]}


def _claimed(tmp_path: Path, files: list[Path]) -> tuple[Runtime, int]:
    rt = make_runtime(tmp_path, destinations=[PACS], ris=[RIS])
    job_id = receive(rt, files)
    assert store.claim_job(rt.registry, job_id)
    return rt, job_id


def _add_entries(rt: Runtime) -> None:
    with rt.registry.session() as session:
        study = session.scalars(select(Study)).one()
        lumbar = {**FLUID, "levels": ["L1", "L2"]}
        session.add_all(
            [
                FindingEntry(study_id=study.id, source="radiologist", body={**FLUID, "source": "radiologist"}),
                FindingEntry(study_id=study.id, source="automated", body=lumbar, status=FindingStatus.REJECTED),
                FindingEntry(study_id=study.id, source="clinical", body={"headache": "orthostatic"}),
                FindingEntry(study_id=study.id, source=EntrySource.REVIEW, body={"key": "k1", "decision": "rejected"}),
                FindingEntry(
                    study_id=study.id, source="radiologist", body={"exam": "x"}, status=FindingStatus.WITHDRAWN
                ),
            ]
        )


def test_the_context_splits_entries_into_findings_reviews_clinical_and_settled_candidates(
    tmp_path: Path, phantom: tuple[str, list[Path]]
) -> None:
    study_uid, files = phantom
    rt, job_id = _claimed(tmp_path, files)
    _add_entries(rt)

    ctx = store.build_context(rt.registry, rt.settings, job_id)

    assert ctx.study_uid == study_uid and ctx.revision == 1
    assert sum(len(s.paths) for s in ctx.series) == len(files)
    assert ctx.findings_entries == [{**FLUID, "source": "radiologist"}]  # not withdrawn, clinical or reviews
    assert ctx.clinical == {"headache": "orthostatic"}
    assert ctx.finding_reviews == {"k1": "rejected"}
    # the radiologist's finding settles the same automated candidate, and the rejected one is settled
    assert ctx.settled_candidates == {candidate_key(FLUID), candidate_key({**FLUID, "levels": ["L1", "L2"]})}
    assert ctx.output_dir == rt.settings.results_dir / study_uid and ctx.previous_sr_path is None


def _outcome(ctx: PipelineContext, sr: Path) -> None:
    sr.write_bytes(b"not read by the store")
    ctx.result_objects["SR"] = ResultObject(ResultKind.SR, sr, "1.2.840.10008.5.1.4.1.1.88.22", "1.2.3.9.1", "1.2.3.9")
    ctx.candidate_findings.append(CandidateFinding("fluid C7 to T2", 0.61234, dict(FLUID), series_instance_uid="1.2"))
    ctx.flags.append("epidural fluid")
    ctx.stage_seconds["inventory"] = 0.12345
    area = Measurement("cord CSA", AREA_CODE, 71.25, "mm2", AREA_CODE, level="C5", series_instance_uid="1.2")
    ctx.measurements.append(area)


def test_a_saved_outcome_reports_the_study_keeps_candidates_as_json_and_asks_for_deliveries_by_kind(
    tmp_path: Path, phantom: tuple[str, list[Path]]
) -> None:
    rt, job_id = _claimed(tmp_path, phantom[1])
    ctx = store.build_context(rt.registry, rt.settings, job_id)
    _outcome(ctx, tmp_path / "sr.dcm")

    delivery_ids = store.save_outcome(rt.registry, rt.settings, job_id, ctx, results_to=["pacs", "ris"])

    with rt.registry.session() as session:
        study = session.scalars(select(Study)).one()
        assert study.state == StudyState.REPORTED and study.flags == ["epidural fluid"]
        (result,) = session.scalars(select(Result)).all()
        assert result.kind == ResultKind.SR and result.predecessor_uid is None
        assert result.summary["candidates"] == [
            {**FLUID, "source": "automated", "confidence": 0.612, "series_uid": "1.2"}
        ]
        assert result.summary["stage_seconds"] == {"inventory": 0.123}
        # the study page shows the measurements of the outputs that passed QC: they are kept with the report
        assert result.summary["measurements"] == [
            {"series_uid": "1.2", "name": "cord_csa", "level": "C5", "value": 71.25, "unit": "mm2"}
        ]
        deliveries = {d.destination: d for d in session.scalars(select(Delivery))}
        assert sorted(d.id for d in deliveries.values()) == sorted(delivery_ids)
        assert deliveries["pacs"].kind == DeliveryKind.RESULTS and deliveries["pacs"].result_ids == [result.id]
        assert deliveries["ris"].kind == DeliveryKind.RIS and deliveries["ris"].result_ids == [result.id]
        job = session.get(Job, job_id)
        assert job is not None and (job.state, job.step) == (JobState.DONE, "done")


def test_the_outcome_of_a_job_another_worker_took_over_is_discarded(
    tmp_path: Path, phantom: tuple[str, list[Path]]
) -> None:
    rt, job_id = _claimed(tmp_path, phantom[1])
    ctx = store.build_context(rt.registry, rt.settings, job_id)
    _outcome(ctx, tmp_path / "sr.dcm")
    with rt.registry.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.worker = "elsewhere:1"  # this worker was taken for gone and the job claimed again

    assert store.save_outcome(rt.registry, rt.settings, job_id, ctx) == []
    store.fail_job(rt.registry, job_id, "late failure")

    with rt.registry.session() as session:
        assert session.scalars(select(Result)).all() == [] and session.scalars(select(Delivery)).all() == []
        job = session.get(Job, job_id)
        assert job is not None and (job.state, job.worker, job.error) == (JobState.RUNNING, "elsewhere:1", None)
        assert session.scalars(select(Study)).one().state == StudyState.ANALYSING


def test_forwarded_originals_name_every_received_instance(tmp_path: Path, phantom: tuple[str, list[Path]]) -> None:
    rt, job_id = _claimed(tmp_path, phantom[1])
    study = store.job_study(rt.registry, job_id)
    assert (study.calling_aet, study.called_aet) == ("MODALITY", "SPINENODE")

    (delivery_id,) = store.forward_originals(rt.registry, study, ["pacs"])
    assert store.forward_originals(rt.registry, study, ["pacs"]) == []  # once per destination and revision
    assert store.forward_originals(rt.registry, study, []) == []

    with rt.registry.session() as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None and delivery.kind == DeliveryKind.ORIGINALS
        assert sorted(delivery.original_paths) == sorted(str(f) for f in phantom[1])


def test_the_content_time_is_the_job_creation_time(tmp_path: Path, phantom: tuple[str, list[Path]]) -> None:
    rt, job_id = _claimed(tmp_path, phantom[1])
    with rt.registry.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.created_at = datetime(2026, 12, 1, 8, 30)
    assert store.build_context(rt.registry, rt.settings, job_id).content_datetime == datetime(2026, 12, 1, 8, 30)
