"""Routing rules on real studies: originals forwarded to a second Orthanc, results to the PACS and to a
RIS (HL7 ORU^R01 over MLLP, to a real listener), priority set from the results."""

from __future__ import annotations

from pathlib import Path

import pytest
from peers import NodeProcess, Orthanc, storescu, wait_until
from test_ris_mllp import Listener, ack

from workers.phantom import write_phantom

pytestmark = pytest.mark.integration

RULES = """
[[rules]]
name = "not for CT"
when.attributes = [{ keyword = "Modality", equals = "CT" }]
then.pipelines = ["inventory"]
then.forward_to = ["pacs"]

[[rules]]
name = "spine MR with a sagittal T2"
when.attributes = [{ keyword = "Modality", equals = "MR" }]
when.series = [{ sequence = "T2", plane = "sagittal" }]
then.pipelines = ["inventory", "criteria", "cord"]
then.forward_to = ["archive"]
then.results_to = ["pacs", "ris"]

[[rules]]
name = "graded studies are urgent"
when.results.grades = [{ grade = "csf_leak", at_least = "NONE" }]
then.priority = "urgent"
"""


def test_rules_forward_originals_and_send_results(tmp_path: Path) -> None:
    pacs = Orthanc(tmp_path / "pacs").start()
    archive = Orthanc(tmp_path / "archive", aet="ARCHIVE").start()
    ris = Listener(ack("AA"))
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    study = write_phantom(tmp_path / "study", "simple")
    node = NodeProcess(
        tmp_path / "node",
        destinations=[
            {"name": "pacs", "ae_title": "ORTHANC", "host": "127.0.0.1", "port": pacs.dicom_port},
            {
                "name": "archive",
                "ae_title": "ARCHIVE",
                "host": "127.0.0.1",
                "port": archive.dicom_port,
                "results": False,
            },
        ],
        ris=[{"name": "ris", "kind": "hl7_mllp", "host": "127.0.0.1", "port": ris.port}],
        extra={"routing": {"rules_file": str(rules)}},
    )
    node.start()
    try:
        assert storescu(list(study.files), node.port).returncode == 0

        def all_delivered() -> bool:
            rows = node.studies()
            return (
                bool(rows)
                and rows[0]["state"] == "delivered"
                and len(rows[0]["deliveries"]) == 3
                and all(d["state"] == "delivered" for d in rows[0]["deliveries"])
            )

        wait_until(all_delivered, 120, "originals, results and RIS delivered")
        row = node.studies()[0]
        assert row["priority"] == "urgent"
        kinds = {(d["destination"], d["kind"]) for d in row["deliveries"]}
        assert kinds == {("archive", "originals"), ("pacs", "results"), ("ris", "ris")}
        # the archive got every original and no results; the PACS got results and no originals
        archived = archive.instances_by_modality()
        assert len(archived.get("MR", [])) == len(study.files) and "SR" not in archived
        at_pacs = pacs.instances_by_modality()
        assert at_pacs.get("SR") and "MR" not in at_pacs
        # the RIS listener parsed an ORU^R01 carrying the study and its grades
        assert len(ris.received) == 1
        message = ris.received[0]
        assert str(message.segment("MSH")(9)).startswith("ORU^R01")
        assert study.study_instance_uid in str(message)
        assert "PHANTOM" not in str(message), "the RIS message carries the pseudonymous key, not the name"
    finally:
        node.stop()
        pacs.stop()
        archive.stop()
        ris.close()
