"""Rules files saved by Windows tools (UTF-8 with BOM, UTF-16) or in Shift_JIS load like UTF-8 ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.routing.loading import load_rules
from node.routing.rules import RuleError

RULES = (
    '[[rules]]\nname = "脊椎MR: 結果をPACSへ"\n'
    'when.attributes = [{ keyword = "Modality", equals = "MR" }]\nthen.pipelines = ["inventory"]\n'
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp932"])
def test_rules_in_the_encodings_hospitals_use(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "routing.toml"
    path.write_bytes(RULES.encode(encoding))
    assert [rule.name for rule in load_rules(path).rules] == ["脊椎MR: 結果をPACSへ"]


def test_undecodable_rules_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "routing.toml"
    path.write_bytes(b"name = '\x82\xff'\n")
    with pytest.raises(RuleError, match=r"rules file .*routing\.toml: not UTF-8, UTF-16 or Shift_JIS/CP932"):
        load_rules(path)
