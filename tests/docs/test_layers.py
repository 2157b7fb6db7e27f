"""The layers of docs/architecture.md, checked on the source tree's imports (a small AST walker, no imports run).

    contracts < services/common < the cores of each service < the exchange (services/exchange, and each
    category's plug-in) < the category registry (services/categories.py), servicers and transports
    < federation runtimes < synthetic data < the demo < scenario files < the conformance suite < load tests < CLI

federation/ has six rooms: runtime/ (the federation file, PKI, launcher, processes, node, kube, toxics),
synthetic/ (the national files' synthetic data and the demo's planted cases), demo/ (the demo and its
report), scenario/ (scenario files), conformance/ (the conformance suite) and cli/ (the `prum` command: cli/app.py imports its sub-apps at its top; they and the app share
cli/common.py and never import app.py). Each room imports only the rooms before it; the CLI is the top and
may import every room and the load tests. Load tests (prum.loadtests) import the runtimes and the synthetic
data, never the demo or the CLI; no room imports a load test. Between top-level packages the CLI counts as
a package of its own, so that cli/bench.py importing the load tests is no cycle, while a runtime that did
would be.

Within `services/<svc>/`: `servicer.py` (or `<contract>_servicer.py`, for a second contract of the service, and so
for the other roles) is the servicer; `wire.py` converts between the contracts'
messages and the types of the cores and the exchange (protobuf only; a plug-in may use its service's,
for the messages it verifies); `plugin.py` is the category's plug-in to the exchange; `transport.py` is
the service's gRPC client to its peers (the contact point's to the peers' data services and contact
points, the supervisor's to the other supervisors, the router's to the states' data services): an adapter at the servicers' layer, on the state's
channels (services/common/channels.py); every other module is the core. Every import is counted, also
one inside a function. No module but the servicers, the transports and services/common's server,
channels, interceptors and TLS loads grpc.

A contract the tree still breaks is listed below as a known exception with its issue, so the list can
only shrink: a new break fails, and so does an exception that no longer occurs (remove it then).
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("dna", "afis", "face", "vehicle", "logger", "supervisor", "contact_point", "echo", "router", "europol",
            "police_records")
#: The rooms of federation/, in their order: each imports only the rooms before it (and the CLI every one).
ROOMS = ("runtime", "synthetic", "demo", "scenario", "conformance", "cli")
ROLE_OF_FILE = {"servicer": "servicer", "wire": "wire", "plugin": "plugin", "transport": "transport"}

Edge = tuple[str, str]
Graph = dict[str, frozenset[str]]

#: Contract -> the imports (importer, imported) that still break it, each with the issue that removes it.
KNOWN: dict[str, set[Edge]] = {}


@cache
def modules() -> dict[str, Path]:
    """Every module of the implementation by its import name, from pyproject's package-dir (not the contracts)."""
    package_dirs = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]["package-dir"]
    found: dict[str, Path] = {}
    for package, folder in package_dirs.items():
        if package == "prum":
            continue  # the generated contracts
        base = ROOT / folder
        for path in sorted(base.rglob("*.py")):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


@cache
def graph() -> Graph:
    """Module -> the modules it imports (a `from package import name` counts as the submodule if there is one)."""
    known = modules()
    edges: dict[str, frozenset[str]] = {}
    for name, path in known.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level:
                    module = ".".join(package[:len(package) - node.level + 1] + ([module] if module else []))
                for alias in node.names:
                    submodule = f"{module}.{alias.name}"
                    imported.add(submodule if submodule in known else module)
        edges[name] = frozenset(imported)
    return edges


def role(module: str) -> str:
    """contracts, common, core, wire, plugin, servicer, transport, exchange, registry, runtime, cli, loadtests or
    external."""
    parts = module.split(".")
    if parts[0] == "grpc" or parts[0].startswith("grpc_") or module.endswith("_pb2_grpc"):
        return "grpc"
    if parts[0] != "prum":
        return "external"
    if parts[1:2] == ["loadtests"]:
        return "loadtests"
    if parts[1:2] == ["federation"]:
        if len(parts) > 2 and parts[2] in ROOMS:
            return parts[2]
        return "runtime"  # the package itself
    if parts[1:2] != ["services"]:
        return "contracts"
    if len(parts) == 2:
        return "services"
    if parts[2] in ("common", "exchange"):
        return parts[2]
    if parts[2] == "categories":
        return "registry"
    if parts[2] in SERVICES:
        # A service with a second contract names its modules by it: core_data_servicer.py is a servicer.
        return ROLE_OF_FILE.get(parts[3], ROLE_OF_FILE.get(parts[3].rsplit("_", 1)[-1], "core")) \
            if len(parts) > 3 else "core"
    raise AssertionError(f"{module}: no layer; add its package to SERVICES or give it a role")


def service(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if parts[:2] == ["prum", "services"] and len(parts) > 2 and parts[2] in SERVICES else None


def imports(edges: Graph, where: Callable[[str], bool]) -> Iterator[Edge]:
    for importer, imported in sorted(edges.items()):
        if where(importer):
            for name in sorted(imported):
                yield importer, name


def loads_grpc(edges: Graph, module: str) -> bool:
    """Whether importing `module` imports grpc: itself, or a module of the tree it imports or that contains it."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if any(role(i) == "grpc" for i in edges[name]):
            return True
        parents = [".".join(name.split(".")[:n]) for n in range(2, name.count(".") + 1)]  # their __init__ runs too
        todo.extend(i for i in [*edges[name], *parents] if i in edges)
    return False


def cores_never_load_grpc(edges: Graph) -> set[Edge]:
    """No core, converter, plug-in, exchange module or the registry imports grpc, directly or through others."""
    return {(m, "grpc") for m in edges if role(m) in ("core", "wire", "plugin", "exchange", "registry")
            and loads_grpc(edges, m)}


def common_imports_no_service(edges: Graph) -> set[Edge]:
    """services/common is below every service and the exchange."""
    return {(m, i) for m, i in imports(edges, lambda m: role(m) == "common")
            if role(i) not in ("common", "contracts", "external", "grpc")}


def the_exchange_knows_no_category_servicer_or_transport(edges: Graph) -> set[Edge]:
    """services/exchange stands on common and the cores of the log and the readiness book, nothing above."""
    allowed = {"common", "exchange", "contracts", "external"}
    return {(m, i) for m, i in imports(edges, lambda m: role(m) == "exchange")
            if role(i) not in allowed and not (role(i) == "core" and service(i) in ("logger", "supervisor"))}


def cores_stand_below_the_exchange(edges: Graph) -> set[Edge]:
    """A core imports common, contracts and other cores: not the exchange, a plug-in, a converter, the registry,
    a servicer or a runtime."""
    return {(m, i) for m, i in imports(edges, lambda m: role(m) == "core")
            if role(i) in ("exchange", "plugin", "wire", "registry", "servicer", "transport", *ROOMS,
                           "loadtests")}


def converters_import_no_servicer_plugin_or_registry(edges: Graph) -> set[Edge]:
    """A service's wire module converts: contracts, common, cores and the exchange's types only."""
    return {(m, i) for m, i in imports(edges, lambda m: role(m) == "wire")
            if role(i) in ("servicer", "transport", "plugin", "registry", "grpc", *ROOMS, "loadtests")}


def plugins_import_no_servicer_or_registry(edges: Graph) -> set[Edge]:
    """A plug-in is the exchange's layer: below the servicers and the table that registers it."""
    return {(m, i) for m, i in imports(edges, lambda m: role(m) == "plugin")
            if role(i) in ("servicer", "transport", "registry", "grpc", *ROOMS, "loadtests")}


def no_servicer_imports_another_services_servicer(edges: Graph) -> set[Edge]:
    return {(m, i) for m, i in imports(edges, lambda m: role(m) == "servicer")
            if role(i) == "servicer" and service(i) != service(m)}


def transports_import_no_servicer(edges: Graph) -> set[Edge]:
    """A transport calls peers: it converts through wire modules and the exchange's types, never a servicer,
    and nothing but a runtime (which wires a state together) imports it."""
    return ({(m, i) for m, i in imports(edges, lambda m: role(m) == "transport") if role(i) == "servicer"}
            | {(m, i) for m, i in imports(edges, lambda m: role(m) not in ("transport", "runtime", "cli"))
               if role(i) == "transport"})


def services_import_no_runtime(edges: Graph) -> set[Edge]:
    return {(m, i) for m, i in imports(edges, lambda m: m.startswith("prum.services"))
            if role(i) in (*ROOMS, "loadtests")}


def rooms_stand_in_order(edges: Graph) -> set[Edge]:
    """runtime < synthetic < demo < scenario < conformance < cli: a room of federation/ imports only the rooms before it, and no room
    but the CLI imports a load test."""
    def rank(module: str) -> int:
        return ROOMS.index(role(module))

    return {(m, i) for m, i in imports(edges, lambda m: role(m) in ROOMS[:-1])
            if (role(i) in ROOMS and rank(i) > rank(m)) or role(i) == "loadtests"}


def load_tests_import_no_cli(edges: Graph) -> set[Edge]:
    """Load tests stand below the demo and the CLI: `prum bench load` (federation/cli/bench.py) calls them, not
    back."""
    return {(m, i) for m, i in imports(edges, lambda m: role(m) == "loadtests") if role(i) in ("cli", "demo")}


def no_sub_app_imports_the_app(edges: Graph) -> set[Edge]:
    """cli/app.py imports the sub-apps and registers them; what they share with it is in cli/common.py."""
    return {(m, i) for m, i in imports(edges, lambda m: role(m) == "cli" and m != "prum.federation.cli.app")
            if i == "prum.federation.cli.app"}


def cycles(edges: dict[str, set[str]]) -> set[Edge]:
    """The edges inside strongly connected components (Tarjan), i.e. every edge that closes an import cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    component: dict[str, int] = {}

    def visit(node: str) -> None:  # recursion depth is bounded by the number of modules (a few hundred)
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(edges.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            while True:
                member = stack.pop()
                component[member] = index[node]
                if member == node:
                    break

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return {(a, b) for a, targets in edges.items() for b in targets if a != b and component[a] == component[b]}


def package_of(module: str) -> str | None:
    """The top-level package (prum.services, prum.federation, prum.loadtests; the contracts as prum), with the
    CLI (federation/cli/) as a package of its own: the top, above the load tests."""
    parts = module.split(".")
    if parts[0] != "prum":
        return None
    if role(module) == "cli":
        return "prum.federation.cli"
    return ".".join(parts[:2]) if parts[1:2] and parts[1] in ("services", "federation", "loadtests") else "prum"


def no_cycles_between_top_level_packages(edges: Graph) -> set[Edge]:
    packages: dict[str, set[str]] = {}
    for importer, imported in imports(edges, lambda m: True):
        a, b = package_of(importer), package_of(imported)
        if a and b and a != b:
            packages.setdefault(a, set()).add(b)
    return cycles(packages)


def no_cycles_between_the_services_packages(edges: Graph) -> set[Edge]:
    """Between services/common, services/exchange, each service's package and the registry."""
    def node(module: str) -> str | None:
        parts = module.split(".")
        return ".".join(parts[:3]) if parts[:2] == ["prum", "services"] and len(parts) > 2 else None

    packages: dict[str, set[str]] = {}
    for importer, imported in imports(edges, lambda m: True):
        a, b = node(importer), node(imported)
        if a and b and a != b:
            packages.setdefault(a, set()).add(b)
    return cycles(packages)


def no_import_cycles_between_modules(edges: Graph) -> set[Edge]:
    return cycles({m: {i for i in imported if i in edges} for m, imported in edges.items()})


CONTRACTS: dict[str, Callable[[Graph], set[Edge]]] = {
    "cores never load grpc": cores_never_load_grpc,
    "services/common imports no service": common_imports_no_service,
    "the exchange knows no category, servicer or transport": the_exchange_knows_no_category_servicer_or_transport,
    "cores stand below the exchange": cores_stand_below_the_exchange,
    "converters import no servicer, plug-in or registry": converters_import_no_servicer_plugin_or_registry,
    "plug-ins import no servicer or registry": plugins_import_no_servicer_or_registry,
    "no servicer imports another service's servicer": no_servicer_imports_another_services_servicer,
    "transports import no servicer, and only runtimes import them": transports_import_no_servicer,
    "services import no runtime": services_import_no_runtime,
    "the rooms of federation/ stand in order": rooms_stand_in_order,
    "load tests import no CLI": load_tests_import_no_cli,
    "no sub-app imports the app": no_sub_app_imports_the_app,
    "no cycles between top-level packages": no_cycles_between_top_level_packages,
    "no cycles between the services packages": no_cycles_between_the_services_packages,
    "no import cycles between modules": no_import_cycles_between_modules,
}


def test_every_module_has_a_layer() -> None:
    assert len(modules()) > 100
    for module in modules():
        role(module)


def test_known_exceptions_name_contracts_that_exist() -> None:
    assert set(KNOWN) <= set(CONTRACTS)


@pytest.mark.parametrize("contract", CONTRACTS)
def test_layer_contract(contract: str) -> None:
    broken = CONTRACTS[contract](graph())
    known = KNOWN.get(contract, set())
    new = sorted(broken - known)
    assert not new, f"{contract}: broken by " + "; ".join(f"{a} -> {b}" for a, b in new)
    fixed = sorted(known - broken)
    assert not fixed, (f"{contract}: no longer broken by " + "; ".join(f"{a} -> {b}" for a, b in fixed)
                       + ": take it out of KNOWN, so that it stays fixed")


def test_the_checks_catch_what_they_are_for() -> None:
    """Each contract, fed the tree's graph with one bad import more, reports that import."""
    assert role("prum.services.dna.kernels") == "core" and role("prum.services.dna.servicer") == "servicer"
    assert role("prum.services.contact_point.transport") == "transport"
    assert role("prum.services.afis.wire") == "wire" and role("prum.federation.cli.kube") == "cli"
    assert role("prum.federation.cli.common") == "cli" and role("prum.federation.runtime.kube") == "runtime"
    assert role("prum.federation.synthetic.dna") == "synthetic" and role("prum.federation.demo.run") == "demo"
    assert package_of("prum.federation.cli.bench") == "prum.federation.cli"
    assert package_of("prum.federation.runtime.topology") == "prum.federation"
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == {("a", "b"), ("b", "c"), ("c", "a")}
    bad = {
        "cores never load grpc": ("prum.services.dna.profile", "prum.services.common.tls"),
        "services/common imports no service": ("prum.services.common.wire", "prum.services.logger"),
        "the exchange knows no category, servicer or transport": ("prum.services.exchange.requesting",
                                                                  "prum.services.dna.plugin"),
        "cores stand below the exchange": ("prum.services.vehicle.register", "prum.services.exchange.plugin"),
        "converters import no servicer, plug-in or registry": ("prum.services.dna.wire", "prum.services.dna.plugin"),
        "plug-ins import no servicer or registry": ("prum.services.afis.plugin", "prum.services.categories"),
        "no servicer imports another service's servicer": ("prum.services.contact_point.servicer",
                                                           "prum.services.afis.servicer"),
        "transports import no servicer, and only runtimes import them": ("prum.services.exchange.requesting",
                                                                          "prum.services.contact_point.transport"),
        "services import no runtime": ("prum.services.supervisor.dpa", "prum.federation.runtime.topology"),
        "the rooms of federation/ stand in order": ("prum.federation.synthetic.scenario", "prum.federation.demo.run"),
        "load tests import no CLI": ("prum.loadtests.load_bench", "prum.federation.cli.common"),
        "no sub-app imports the app": ("prum.federation.cli.kube", "prum.federation.cli.app"),
        "no cycles between top-level packages": ("prum.services.common.clock", "prum.federation.runtime.topology"),
        "no cycles between the services packages": ("prum.services.logger.log", "prum.services.exchange.context"),
        "no import cycles between modules": ("prum.services.common.errors", "prum.services.common.wire"),
    }
    assert set(bad) == set(CONTRACTS)
    for contract, (importer, imported) in bad.items():
        edges = dict(graph())
        edges[importer] = edges[importer] | {imported}
        found = CONTRACTS[contract](edges) - CONTRACTS[contract](graph())
        assert found, f"{contract} misses {importer} -> {imported}"
    # The cycles this layering removed (issue 17) are seen again if they come back.
    for contract, (importer, imported) in [
        ("no cycles between top-level packages", ("prum.federation.runtime.launcher", "prum.loadtests.load_plan")),
        ("no cycles between top-level packages", ("prum.loadtests.load_bench", "prum.federation.cli.common")),
        ("no import cycles between modules", ("prum.federation.cli.bench", "prum.federation.cli.app")),
    ]:
        edges = dict(graph())
        edges[importer] = edges[importer] | {imported}
        assert CONTRACTS[contract](edges) - CONTRACTS[contract](graph()), f"{contract} misses {importer} -> {imported}"
