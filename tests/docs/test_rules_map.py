"""docs/rules.md maps every rule ID of the catalogues (2008 and Prüm II) to the code that enforces it and the tests that prove it.

A rule marked `enforced` must name at least one test, and every named test must exist. A rule that is
not enforced yet is listed as `open`, never dropped.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT.parent / "shared" / "design" / "RULES.md"
# The IDs of ../shared/design/RULES.md, kept here so the check runs where shared/ is absent.
RULE_IDS = [
    "DNA-1", "DNA-2", "DNA-3", "DNA-4", "DNA-5", "DNA-6", "DNA-7", "DNA-8", "DNA-9", "DNA-10", "DNA-11",
    "FP-1", "FP-2", "FP-3", "VRD-1", "VRD-2", "GATE-1", "GATE-2", "PUR-1", "PUR-2", "PUR-3", "FOL-1",
    "ACC-1", "ACC-2", "SEC-1", "SEC-2", "LOG-1", "LOG-2", "LOG-3", "LOG-4", "LOG-5", "LOG-6", "LOG-7",
    "AUD-1", "SUB-1", "DEC-1", "EUR-1", "EUR-2", "EUR-3",
]
# The IDs of ../shared/design/RULES-PRUM2.md (Prüm II, Regulation (EU) 2024/982), kept here for the same reason.
CATALOGUE_PRUM2 = ROOT.parent / "shared" / "design" / "RULES-PRUM2.md"
PRUM2_RULE_IDS = [
    "P2-TIME-1", "P2-ROUTER-1", "P2-ROUTER-2", "P2-ROUTER-3", "P2-VRD-1", "P2-DNA-1", "P2-DNA-2", "P2-DNA-3",
    "P2-DNA-4", "P2-DNA-5", "P2-QUAL-1", "P2-FP-1", "P2-FACE-1", "P2-FACE-2", "P2-FACE-3", "P2-FACE-4",
    "P2-CORE-1", "P2-CORE-2", "P2-CORE-3", "P2-EPRIS-1", "P2-EPRIS-2", "P2-EPRIS-3", "P2-EPRIS-4", "P2-EPRIS-5",
    "P2-EUROPOL-1", "P2-EUROPOL-2", "P2-EUROPOL-3", "P2-SCOPE-1", "P2-LOG-1", "P2-LOG-2", "P2-GATE-1",
]
ROW = re.compile(r"^\|\s*((?:P2-)?[A-Z]+-\d+)\s*\|\s*(enforced|partly|open)\s*\|(.*)\|(.*)\|\s*$")
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def rows() -> dict[str, tuple[str, str, str]]:
    found = {}
    for line in (ROOT / "docs" / "rules.md").read_text("utf-8").splitlines():
        match = ROW.match(line)
        if match:
            rule, status, code, tests = match.groups()
            assert rule not in found, f"{rule} appears twice in docs/rules.md"
            found[rule] = (status, code.strip(), tests.strip())
    return found


def test_the_id_list_matches_the_catalogue() -> None:
    if CATALOGUE.exists():
        assert set(re.findall(r"^\| ([A-Z]+-\d+) \|", CATALOGUE.read_text("utf-8"), re.M)) == set(RULE_IDS)


def test_the_prum2_id_list_matches_its_catalogue() -> None:
    if CATALOGUE_PRUM2.exists():
        found = re.findall(r"^- (P2-[A-Z]+-\d+)\b", CATALOGUE_PRUM2.read_text("utf-8"), re.M)
        assert set(found) == set(PRUM2_RULE_IDS)


def test_every_rule_id_is_mapped() -> None:
    missing = [rule for rule in [*RULE_IDS, *PRUM2_RULE_IDS] if rule not in rows()]
    assert not missing, f"rule IDs without a row in docs/rules.md: {missing}"


def test_every_enforced_rule_names_tests_that_exist() -> None:
    for rule, (status, code, tests) in rows().items():
        refs = TEST_REF.findall(tests)
        if status == "open":
            continue
        assert refs, f"{rule} is {status} but names no test"
        assert code, f"{rule} is {status} but names no enforcing code"
        for path, name in refs:
            source = ROOT / path
            assert source.exists(), f"{rule}: {path} does not exist"
            assert re.search(rf"def {name}\b", source.read_text("utf-8")), f"{rule}: no test {name} in {path}"
