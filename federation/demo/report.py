"""Renders a demo or scenario report for a person (rich tables); programs read the JSON form instead."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

STATUS_STYLE = {"HIT": "bold green", "NO_HIT": "dim", "NOT_READY": "yellow", "UNAVAILABLE": "red",
                "DEADLINE_EXCEEDED": "red", "REFUSED": "magenta", "CANDIDATES": "bold cyan"}


def _mark(ok: bool) -> Text:
    return Text("yes", style="green") if ok else Text("NO", style="bold red")


def files_table(report: dict[str, Any]) -> Table:
    table = Table(title="Member states", title_justify="left")
    counts = ("DNA profiles", "fingerprints", "vehicles")
    for column in ("state", "name", "port", "ready for", *counts):
        table.add_column(column, justify="right" if column in ("port", *counts) else "left")
    for f in report["files"]:
        table.add_row(f["state"], f["name"], str(f["port"]), ", ".join(f["ready"]), f"{f['profiles']:,}",
                      f"{f.get('fingerprints', 0):,}", f"{f.get('vehicles', 0):,}")
    return table


def search_table(search: dict[str, Any]) -> Table:
    title = f"{search['from']} · {search['title']}"
    table = Table(title=title, title_justify="left", caption=_search_caption(search), caption_justify="left")
    table.add_column("state")
    table.add_column("status")
    table.add_column({"DNA": "hits (reference, class, loci matched/compared, kind)",
                      "FINGERPRINT": "verified candidates (reference, score, kind)",
                      "VEHICLE": "vehicles (VIN, plate, vehicle, status, holders)"}[search.get("category", "DNA")])
    table.add_column("ms", justify="right")
    if "error" in search:
        table.add_row(search["from"], Text(search["error"]["code"], style="magenta"), search["error"]["message"], "")
        return table
    for r in search["results"]:
        hits = "\n".join(_hit_line(h) for h in r["hits"])
        table.add_row(r["state"], Text(r["status"], style=STATUS_STYLE.get(r["status"], "")),
                      hits or (r["detail"] if r["status"] not in ("NO_HIT",) else ""), f"{r['elapsed_ms']:.1f}")
    return table


def _hit_line(hit: dict[str, Any]) -> str:
    if "score" in hit:
        return f"{hit['reference']}  {hit['score']}  {hit['kind'].lower().replace('_', ' ')}"
    if "match_class" in hit:
        return (f"{hit['reference']}  {hit['match_class']}  {hit['loci_matched']}/{hit['loci_compared']}  "
                f"{hit['kind'].lower().replace('_', ' ')}")
    return (f"{hit['reference']}  {hit['registration_number'] or '-'}  {hit['vehicle']}  {hit['status']}  "
            f"{', '.join(hit['holders'])}")


def _search_caption(search: dict[str, Any]) -> str:
    planted = "as planted" if search["as_planted"] else "NOT AS PLANTED"
    states = ", ".join(search.get("trace_states") or []) or "-"
    return (f"officer {search['officer']} · case {search['case_reference']} · {planted} · "
            f"trace {search['trace_id'][:16]}… spans in {states}")


def logs_table(report: dict[str, Any]) -> Table:
    table = Table(title="Protocol logs (Art 30)", title_justify="left")
    for column in ("state", "entries", "as requesting state", "as file-managing state", "supplies", "receipts",
                   "hash chain intact"):
        table.add_column(column, justify="left" if column == "state" else "right")
    for log in report["logs"]:
        table.add_row(log["state"], str(log["entries"]), str(log["requesting_side"]), str(log["file_managing_side"]),
                      str(log["supplies"]), str(log["receipts"]), _mark(log["chain_intact"]))
    return table


def checks_table(report: dict[str, Any]) -> Table:
    table = Table(title="Checks", title_justify="left")
    table.add_column("check")
    table.add_column("passed")
    for name, ok in report["checks"].items():
        table.add_row(name.replace("_", " "), _mark(ok))
    return table


def topologies_table(rows: list[dict[str, Any]]) -> Table:
    """Mesh against router, measured in the same run (`prum.federation.demo.topologies`)."""
    table = Table(title="A search to every state: mesh against router (P2-ROUTER-1)", title_justify="left",
                  caption="entries: in the states' protocol logs per search; the router adds one per routed query "
                          "to its own log", caption_justify="left")
    for column in ("states", "topology", "channels the requester holds", "p50 ms", "p99 ms", "entries",
                   "one state slow: p50 ms", "one state down: p50 ms", "results then"):
        table.add_column(column, justify="left" if column in ("topology", "results then") else "right")
    for row in rows:
        if "refused" in row:
            table.add_row(str(row["states"]), row["topology"], Text(row["refused"], style="red"), "", "", "", "", "",
                          "")
            continue
        up, slow, down = row["all_up"], row["one_slow"], row["one_down"]
        table.add_row(str(row["states"]), row["topology"], str(row["channels_held_by_requester"]),
                      str(up["p50_ms"]), str(up["p99_ms"]), str(up["log_entries_per_search"]),
                      f"{slow['p50_ms']} ({slow['state']} +{slow['latency_ms']} ms each way)", str(down["p50_ms"]),
                      f"{down['state']} down: " + ", ".join(f"{k} {v}" for k, v in sorted(down["statuses"].items())))
    return table


def prum_ii_table(report: dict[str, Any]) -> Table:
    """A missing-person search (P2-SCOPE-1) and Europol's part (P2-EUROPOL-1..3, EUR-1..3), `demo/europol.py`."""
    table = Table(title="Prüm II: search purposes and Europol", title_justify="left")
    table.add_column("what")
    table.add_column("result")
    missing = report.get("missing_person") or {}
    if "skipped" in missing:
        table.add_row("missing-person search (P2-SCOPE-1)", Text(missing["skipped"], style="dim"))
    elif missing:
        table.add_row(f"missing-person search {missing['from']} → {missing['to']} (P2-SCOPE-1)",
                      f"{missing['status']}; logged as "
                      + ", ".join(f"{s}: {'/'.join(p)}" for s, p in missing["logged_purposes"].items()))
    part = report.get("europol") or {}
    if "skipped" in part:
        table.add_row("Europol", Text(part["skipped"], style="dim"))
    elif part:
        hits = ", ".join(f"{h['reference']} {h['source']}{h['information']} ({h['file']})" for h in part["hits"])
        table.add_row(f"{part['searched_by']} searches Europol's third-country data (P2-EUROPOL-2, EUR-1)",
                      f"{part['status']}: {hits or 'no hit'}")
        table.add_row("Europol searches the states, Art 18(2)(a) (P2-EUROPOL-1)",
                      ", ".join(f"{s} {st}" for s, st in part["europol_search"].items()))
        table.add_row("Europol search without its task", part["search_without_task"])
        findings = part["edps_audit"]["findings"]
        table.add_row("EDPS audit of Europol's log (EUR-2)",
                      f"{part['edps_audit']['sampled']} entries, {len(findings)} finding(s)")
    return table


def core_data_table(core_data: dict[str, Any]) -> Table:
    """Core data after a confirmed match through the router (Prüm II Art 47): one on time, one overdue."""
    table = Table(title="Core data after a confirmed match (Prüm II Art 47, through the router; due within 48 h)",
                  title_justify="left")
    for column in ("exchange", "from → to", "hit", "status", "due", "what happened"):
        table.add_column(column)
    for label, entry in (("on time", core_data.get("on_time")), ("overdue", core_data.get("overdue"))):
        if not entry:
            continue
        hit = f"{entry['category']} {entry['reference']}"
        if "error" in entry:
            table.add_row(label, f"{entry['from']} → {entry['to']}", hit, "",  "",
                          Text(f"{entry['error']['code']}: {entry['error']['message']}", style="red"))
            continue
        if label == "on time":
            what = (f"{entry.get('core_data', '')}; logged on both sides: "
                    f"{'yes' if entry.get('logged_on_both_sides') else 'NO'}; router: {', '.join(entry.get('router', []))}")
        else:
            seen = ", ".join(state for state, flag in entry.get("overdue_at", {}).items() if flag)
            dpas = ", ".join(state for state, found in entry.get("dpa_findings", {}).items() if found)
            what = (f"clock skipped {entry.get('clock_skipped_hours', 0):.2f} h without a decision: overdue at "
                    f"{seen or 'no state'}; reported by the DPAs of {dpas or 'no state'}")
        table.add_row(label, f"{entry['from']} → {entry['to']}", hit, entry["status"], entry["due_at"], what)
    return table


def face_table(faces: dict[str, Any]) -> Table:
    """The facial-image search: candidates per state, and the officer's decisions logged on both sides (P2-FACE-3)."""
    table = Table(title=f"{faces['from']} · facial-image search for a robbery (P2-FACE-1..4; a search for shoplifting: "
                        f"{faces['shoplifting_refused'] or 'not refused'})", title_justify="left",
                  caption="a candidate is no match until an officer confirms it; each decision is logged by both states",
                  caption_justify="left")
    for column in ("state", "status", "candidate", "cosine", "officer's decision", "logged by both"):
        table.add_column(column, no_wrap=column in ("candidate", "cosine"))
    for result in faces["results"]:
        decided = [faces["decisions"].get(reference) for reference, _ in result["candidates"]]
        table.add_row(result["state"], Text(result["status"], style=STATUS_STYLE.get(result["status"], "")),
                      "\n".join(reference for reference, _ in result["candidates"]),
                      "\n".join(f"{score:.3f}" for _, score in result["candidates"]),
                      "\n".join("" if d is None else ("confirmed" if d["confirmed"] else "rejected") for d in decided),
                      "\n".join("" if d is None else ("yes" if d["notified"] else "NO") for d in decided))
    return table


def epris_table(epris: dict[str, Any]) -> Table:
    """The police-record search through a name variation and the follow-ups the holder decided (P2-EPRIS-1..5)."""
    if "skipped" in epris:
        table = Table(title="Police records (EPRIS): skipped", title_justify="left")
        table.add_column("why")
        table.add_row(epris["skipped"])
        return table
    table = Table(title=f"Police records (EPRIS): {epris['from']} searches \"{epris['query']}\" "
                        f"({epris['variation'].lower().replace('_', ' ')} of {epris['holder']}'s "
                        f"\"{epris['record']}\")", title_justify="left")
    for column in ("state", "status", "matches (reference, quality, holding state)", "follow-up decided by holder"):
        table.add_column(column)
    follow_ups = [f for f in (epris.get("shared"), epris.get("refused")) if f]
    for result in epris["results"]:
        matches = ", ".join(f"{m['reference']} ({m['quality']}, {m['holding_state']})" for m in result["matches"])
        decided = "; ".join(f"{f['reference']}: {f['decision']}{' - ' + f['record'] if f['record'] else ''}, "
                            f"logged on both sides {'yes' if f['logged_on_both_sides'] else 'NO'}"
                            for f in follow_ups if result["state"] == epris["holder"])
        table.add_row(result["state"], result["status"],
                      matches or (result["detail"] if result["status"] == "NOT_READY" else ""), decided)
    return table


def render(report: dict[str, Any], console: Console) -> None:
    head = report["federation"]
    console.print(Panel(Group(
        Text(f"Federation {head['name']} · {head['states']} states · {head['topology']} topology · "
             f"{head['transport']}"),
        Text(f"finished in {report['elapsed_s']} s · data, logs and traces in {head['workdir']}", style="dim"))))
    console.print(files_table(report))
    for search in report["searches"]:
        console.print(search_table(search))
    follow_up = report.get("follow_up")
    if follow_up:
        table = Table(title="Follow-up after a hit (FOL-1: personal data in a separate, non-automated request)",
                      title_justify="left")
        for column in ("from", "to", "reference", "person supplied", "contested", "logged on both sides"):
            table.add_column(column)
        if "error" in follow_up:
            table.add_row(follow_up["from"], follow_up["to"], follow_up["reference"],
                          Text(f"{follow_up['error']['code']}: {follow_up['error']['message']}", style="red"), "", "")
        else:
            table.add_row(follow_up["from"], follow_up["to"], follow_up["reference"], follow_up["person"],
                          "yes" if follow_up["contested"] else "no", _mark(follow_up["logged_on_both_sides"]))
        console.print(table)
    faces = report.get("faces")
    if faces and "skipped" not in faces:
        console.print(face_table(faces))
    core_data = report.get("core_data")
    if core_data:
        console.print(core_data_table(core_data))
    if report.get("epris"):
        console.print(epris_table(report["epris"]))
    workflow = report.get("readiness_workflow")
    if workflow:
        table = Table(title=f"Readiness workflow: {workflow['state']} for {workflow['category']} (GATE-1, GATE-2)",
                      title_justify="left")
        table.add_column("what")
        table.add_column("result")
        for step in workflow["steps"]:
            table.add_row(f"{workflow['state']} reports: {step['step']}",
                          "every state told" if not step["unreached"] else f"unreached: {', '.join(step['unreached'])}")
        for vote in workflow["votes"]:
            table.add_row(f"Council vote of {vote['voter']}: in favour", f"{vote['in_favour']} of {vote['needed']}")
        table.add_row("decision seen ready by", ", ".join(workflow["ready_in"]))
        console.print(table)
    console.print(logs_table(report))
    both = sum(p["logged_on_both_sides"] for p in report["supplies"])
    console.print(f"Supplies logged on both sides: {both} of {len(report['supplies'])} answered (search, state) pairs")
    audit = report.get("router_audit")
    if audit is not None:
        console.print(f"Router log audited against the states' logs (P2-ROUTER-3, P2-LOG-1): {audit['reconciled']} of "
                      f"{audit['checked']} routed queries reconciled")
        for finding in audit["findings"]:
            console.print(Text(f"  {finding['request_id']} {finding['state']}: {finding['finding']}", style="red"))
    if report.get("missing_person") or report.get("europol"):
        console.print(prum_ii_table(report))
    if report.get("topologies"):
        console.print(topologies_table(report["topologies"]))
    console.print(checks_table(report))
