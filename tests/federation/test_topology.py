"""The federation file: defaults, scaling, and clear errors for what is wrong."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from prum.federation.runtime.topology import FederationFileError, load_federation, parse_federation


def test_default_federation_is_the_seven_signatories_with_lu_not_ready_for_dna() -> None:
    federation = load_federation()
    assert federation.codes == ["BE", "DE", "ES", "FR", "LU", "NL", "AT"]
    assert not federation.state("LU").is_ready("DNA")
    assert federation.state("DE").is_ready("DNA")
    assert federation.state("NL").retention_days["NON_AUTOMATED_SUPPLY"] == 4 * 365 + 1


def test_scaling_appends_member_states() -> None:
    federation = load_federation().scaled(10)
    assert federation.codes[7:] == ["IT", "PT", "SE"]
    assert all(federation.state(c).is_ready("DNA") for c in ("IT", "PT", "SE"))
    assert load_federation().scaled(3).codes == ["BE", "DE", "ES"]


def test_a_smaller_federation_keeps_only_agreements_among_its_states() -> None:
    """Art 4 agreements (DNA-11) with states left out are dropped, so the file still parses in each node."""
    full = load_federation()
    assert full.state("DE").comparison_partners - {"BE", "DE", "ES"}
    small = full.scaled(3)
    for spec in small.states:
        assert spec.comparison_partners <= {"BE", "DE", "ES"}
        assert spec.comparison_partners == full.state(spec.code).comparison_partners & {"BE", "DE", "ES"}
    assert parse_federation(small.to_file_data()).codes == ["BE", "DE", "ES"]


@pytest.mark.parametrize("text, message", [
    ('[[state]]\ncode = "Germany"\n[[state]]\ncode = "NL"', "ISO 3166 alpha-2"),
    ('[[state]]\ncode = "DE"\nreddy = ["DNA"]\n[[state]]\ncode = "NL"', "unknown key"),
    ('[[state]]\ncode = "DE"\nready = ["DNS"]\n[[state]]\ncode = "NL"', "allowed: a list of DNA"),
    ('[[state]]\ncode = "DE"', "at least 2"),
    ('[federation]\ntopology = "star"\n[[state]]\ncode = "DE"\n[[state]]\ncode = "NL"', "allowed: mesh"),
    ('[[state]]\ncode = "EU"\n[[state]]\ncode = "NL"', "the Prüm II router's code"),
    ('[router]\nall_states = "yes"\n[[state]]\ncode = "DE"\n[[state]]\ncode = "NL"', "allowed: true or false"),
    ('[router]\nlog_retention = "ever"\n[[state]]\ncode = "DE"\n[[state]]\ncode = "NL"', "not a duration"),
    ('[[state]]\ncode = "DE"\nrouter_ready = 1\n[[state]]\ncode = "NL"', "router_ready"),
    ('[[state]]\ncode = "DE"\nretention = { NON_AUTOMATED_SUPPLY = "forever" }\n[[state]]\ncode = "NL"',
     "not a duration"),
    ('[[state]]\ncode = "DE"\n[[state]]\ncode = "DE"', "appears twice"),
    ('[[state]]\ncode = "DE"\nafis = { max_candidates = 5000 }\n[[state]]\ncode = "NL"', "allowed: 0 to 1000"),
    ("this is not toml", "not valid TOML"),
    ('[[state]]\ncode = "XP"\n[[state]]\ncode = "NL"', "Europol's code"),
    ('[[state]]\ncode = "DE"\nsearch_purposes = ["FUN"]\n[[state]]\ncode = "NL"', "allowed: a list of MISSING_PERSON"),
    ('[[state]]\ncode = "DE"\nsearch_purposes = ["CRIMINAL_INVESTIGATION"]\n[[state]]\ncode = "NL"',
     "P2-SCOPE-1"),
    ('[europol]\nenabled = true\n[[state]]\ncode = "DE"\n[[state]]\ncode = "NL"', "through the Prüm II router"),
    ('[federation]\ntopology = "router"\n[europol]\nenabeld = true\n[[state]]\ncode = "DE"\n[[state]]\ncode = "NL"',
     "unknown key"),
    ('[federation]\ntopology = "router"\n[europol]\ndna_profiles = -1\n[[state]]\ncode = "DE"\n[[state]]\n'
     'code = "NL"', "whole number"),
])
def test_wrong_files_are_refused_with_what_is_allowed(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "federation.toml"
    path.write_text(text)
    with pytest.raises(FederationFileError, match=message):
        load_federation(path)


def test_a_federation_survives_the_round_trip_through_its_file_schema() -> None:
    from prum.federation.runtime.topology import parse_federation

    federation = load_federation().scaled(9)
    assert parse_federation(federation.to_file_data()) == federation


def test_the_router_topology_and_its_settings_are_read_with_the_rules_defaults() -> None:
    """P2-ROUTER-2, P2-ROUTER-3 (unconfirmed: federation-file settings with the rules' defaults), P2-GATE-1 (the
    router connection declared ready per state, by default every state)."""
    from prum.federation.runtime.topology import RouterSpec, parse_federation

    states = [{"code": "DE"}, {"code": "NL", "router_ready": False}]
    federation = parse_federation({"federation": {"topology": "router"}, "state": states})
    assert federation.topology == "router"
    assert federation.router == RouterSpec(all_states=True, several_categories=True, log_retention_days=365)
    assert [s.router_ready for s in federation.states] == [True, False]
    custom = parse_federation({"federation": {"topology": "router"}, "router": {
        "all_states": False, "several_categories": False, "log_retention": "2y", "address": "router:50051"},
        "state": states})
    assert custom.router == RouterSpec("router:50051", False, False, 730)
    assert parse_federation(custom.to_file_data()) == custom


def test_europol_is_off_by_default_and_a_participant_of_the_router_federation_when_enabled() -> None:
    """P2-EUROPOL-1: `[europol]` (off by default, so existing federations are unchanged); P2-SCOPE-1: each state's
    `search_purposes`, none by default, known to every state."""
    from prum.federation.runtime.topology import EuropolSpec, parse_federation
    from prum.services.common.purpose import SearchPurpose

    states = [{"code": "DE", "search_purposes": ["MISSING_PERSON"]}, {"code": "NL"}]
    plain = parse_federation({"federation": {"topology": "router"}, "state": states})
    assert plain.europol == EuropolSpec(enabled=False) and plain.participants == ["DE", "NL"]
    assert plain.purposes == {"DE": frozenset({SearchPurpose.MISSING_PERSON}), "NL": frozenset()}
    federation = parse_federation({"federation": {"topology": "router"}, "state": states, "europol": {
        "enabled": True, "dna_profiles": 5, "fingerprints": 3, "router_ready": False}})
    assert federation.participants == ["DE", "NL", "XP"] and federation.codes == ["DE", "NL"]
    assert federation.europol == EuropolSpec(True, 5, 3, False)
    assert parse_federation(federation.to_file_data()) == federation
def test_core_data_settings_are_read_with_the_rules_defaults_and_wrong_ones_refused() -> None:
    """P2-CORE-1 (48 hours), P2-CORE-2 (a per-state judicial authorisation), P2-CORE-3 (unconfirmed fields: a
    setting), and whether a state decides at once or waits for its operator."""
    from prum.services.exchange.core_data import CORE_DATA_FIELDS, CoreDataPolicy

    states = [{"code": "DE"}, {"code": "FR", "core_data": {"judicial_authorisation": True, "automatic": False}}]
    federation = parse_federation({"federation": {"topology": "router"}, "state": states})
    assert (federation.router.core_data_deadline_hours, federation.router.core_data_fields) == (48, CORE_DATA_FIELDS)
    assert [s.core_data for s in federation.states] == [CoreDataPolicy(), CoreDataPolicy(True, False)]
    narrow = parse_federation({"router": {"core_data_deadline_hours": 24, "core_data_fields": ["surnames"]},
                               "state": states})
    assert (narrow.router.core_data_deadline_hours, narrow.router.core_data_fields) == (24, ("surnames",))
    assert parse_federation(narrow.to_file_data()) == narrow
    for router, state, message in (
            ({"core_data_deadline_hours": 0}, {}, "core_data_deadline_hours: 0; allowed: 1 to 8760"),
            ({"core_data_fields": ["shoe_size"]}, {}, "core_data_fields: ['shoe_size']; allowed: a non-empty list"),
            ({}, {"core_data": {"judicial": True}}, "unknown key(s) ['judicial']"),
            ({}, {"core_data": {"automatic": "yes"}}, "core_data.automatic: 'yes'; allowed: true or false")):
        with pytest.raises(FederationFileError, match=re.escape(message)):
            parse_federation({"router": router, "state": [{"code": "DE", **state}, {"code": "NL"}]})


def test_prum_up_and_kube_render_refuse_a_federation_with_europol(tmp_path: Path) -> None:
    """Europol runs in-process only for now: the process and Kubernetes runtimes say so before starting anything."""
    from prum.federation.runtime import kube, processes

    federation = parse_federation({"federation": {"topology": "router"}, "europol": {"enabled": True},
                                   "state": [{"code": "DE"}, {"code": "NL"}]})
    with pytest.raises(RuntimeError, match="Europol runs in-process only"):
        processes.up(federation, tmp_path / "run")
    assert not (tmp_path / "run").exists()
    with pytest.raises(ValueError, match="prum kube render does not start it"):
        kube.render(federation, tmp_path / "k8s")
    assert not (tmp_path / "k8s").exists()


def test_epris_is_opt_in_per_state() -> None:
    """P2-EPRIS-1: taking part in EPRIS is opt-in (default false); `[defaults]` or a `[[state]]` turns it on; the
    default federation file has every state but Luxembourg take part, whose index is then not ready (GATE-1)."""
    from prum.federation.runtime.launcher import readiness_from_file
    from prum.services.common.category import Category
    from prum.services.common.clock import SystemClock

    plain = parse_federation({"state": [{"code": "DE"}, {"code": "NL", "epris": True}]})
    assert [s.epris for s in plain.states] == [False, True]
    assert parse_federation(plain.to_file_data()) == plain
    default = load_federation()
    assert [c for c in default.codes if not default.state(c).epris] == ["LU"]
    book = readiness_from_file(default, SystemClock())
    assert book.is_ready("DE", Category.POLICE_RECORD) and not book.is_ready("LU", Category.POLICE_RECORD)
    with pytest.raises(FederationFileError, match=r"epris: 'yes'; allowed: true or false"):
        parse_federation({"state": [{"code": "DE", "epris": "yes"}, {"code": "NL"}]})
    with pytest.raises(FederationFileError, match=r"police_records: -1; allowed: a whole number >= 0"):
        parse_federation({"defaults": {"police_records": -1}, "state": [{"code": "DE"}, {"code": "NL"}]})


def test_epris_settings_are_read_with_the_catalogues_defaults_and_wrong_ones_refused() -> None:
    """P2-EPRIS-1 (U): the fields searched, default the catalogue's eight; P2-EPRIS-5: the refresh, at most 24 h."""
    from prum.federation.runtime.topology import EprisSpec
    from prum.services.police_records.index import FIELDS

    states = [{"code": "DE"}, {"code": "NL"}]
    assert parse_federation({"state": states}).epris == EprisSpec(FIELDS, 24) == load_federation().epris
    narrow = parse_federation({"epris": {"fields": ["surnames", "first_names", "date_of_birth"], "refresh_hours": 6},
                               "state": states})
    assert narrow.epris == EprisSpec(("first_names", "surnames", "date_of_birth"), 6)
    assert parse_federation(narrow.to_file_data()) == narrow
    for table, message in (({"fields": ["surnames", "date_of_birth"]}, "every search needs them"),
                           ({"fields": ["first_names", "surnames", "date_of_birth", "shoe_size"]}, "allowed"),
                           ({"refresh_hours": 48}, "at least every 24 hours"), ({"key": 1}, "unknown key")):
        with pytest.raises(FederationFileError, match=message):
            parse_federation({"epris": table, "state": states})
