"""A scenario's report in the forms its readers want: JUnit XML (one testcase per step, so any CI shows it), and an
HTML page with the timeline of its steps and faults. The rich table and `--json` are the CLI's (`cli/scenario.py`).
"""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from typing import Any

from prum.federation.scenario.runner import ScenarioReport, StepResult


def junit_xml(report: ScenarioReport) -> str:
    """One `<testsuite>` named after the scenario, one `<testcase>` per step (its line in the file as the class
    name's suffix), a `<failure>` saying what was expected and what came, per state."""
    failures = sum(not s.ok for s in report.steps)
    suite = ET.Element("testsuite", name=report.name, tests=str(len(report.steps)), failures=str(failures),
                       errors="0", skipped="0", time=f"{report.elapsed_s:.3f}")
    properties = ET.SubElement(suite, "properties")
    for key, value in (("source", report.source), ("topology", report.topology), ("states", ",".join(report.states))):
        ET.SubElement(properties, "property", name=key, value=value)
    for step in report.steps:
        case = ET.SubElement(suite, "testcase", name=step.name, classname=f"scenario.{_slug(report.name)}.{step.do}",
                             file=report.source, line=str(step.line), time=f"{step.elapsed_ms / 1000:.3f}")
        if not step.ok:
            failure = ET.SubElement(case, "failure", message=step.message, type="ExpectationFailed")
            failure.text = _expected_vs_got(step)
        elif step.message:
            ET.SubElement(case, "system-out").text = step.message
    root = ET.Element("testsuites", name="prum scenario", tests=str(len(report.steps)), failures=str(failures))
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text).strip("_").lower() or "scenario"


def _expected_vs_got(step: StepResult) -> str:
    lines = [f"step {step.name!r} (line {step.line}): {step.message}"]
    for key, expected in step.expected.items():
        got = step.got.get(key, {})
        shown = ", ".join(f"{k} {v}" for k, v in got.items() if k != "hits" and v not in ("", None))
        lines.append(f"  {key}: expected {expected}; got {shown or 'nothing'}")
    return "\n".join(lines)


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em} table{border-collapse:collapse;margin-top:1em} td,th{border:1px solid #ccc;padding:4px 8px;
vertical-align:top;font-size:.9em} .ok{color:#176f2c} .fail{color:#b00020;font-weight:bold}
.timeline{position:relative;border-left:1px solid #999;margin:1em 0;padding:0}
.row{position:relative;height:22px;margin:2px 0} .bar{position:absolute;height:18px;border-radius:3px;
min-width:3px;font-size:.75em;white-space:nowrap;padding-left:4px;color:#fff;overflow:visible}
.step{background:#3b6ea8} .fault{background:#c77700} .failed{background:#b00020}
.label{position:absolute;left:0;font-size:.8em;color:#333}
.span{background:repeating-linear-gradient(45deg,#c77700,#c77700 6px,#e0a040 6px,#e0a040 12px)}
"""


def html_report(report: ScenarioReport) -> str:
    """A page: the verdict, a timeline (each step a bar from its start for its duration, faults in orange, failed
    steps in red), then a table of steps with what was expected and what came per state."""
    end_s = max((s.started_s + s.elapsed_ms / 1000 for s in report.steps), default=0.0) or 1.0
    rows = []
    for step in report.steps:
        left = 30 + 65 * step.started_s / end_s
        width = max(0.3, 65 * (step.elapsed_ms / 1000) / end_s)
        kind = "failed" if not step.ok else ("fault" if step.fault else "step")
        rows.append(f'<div class="row"><span class="label">{html.escape(step.name[:40])}</span>'
                    f'<span class="bar {kind}" style="left:{left:.2f}%;width:{width:.2f}%" '
                    f'title="{html.escape(step.message)}">{step.started_s:.2f}s · {step.elapsed_ms:.0f} ms</span></div>')
    spans = "".join(
        f'<div class="row"><span class="label">{html.escape(label[:40])}</span>'
        f'<span class="bar span" style="left:{30 + 65 * start / end_s:.2f}%;width:{max(0.3, 65 * (stop - start) / end_s):.2f}%"'
        f' title="{html.escape(label)}">{start:.2f}s to {stop:.2f}s</span></div>'
        for label, start, stop in fault_spans(report, end_s))
    table = [("<tr><th>#</th><th>step</th><th>kind</th><th>line</th><th>result</th><th>ms</th>"
              "<th>expected vs got, per state</th></tr>")]
    for number, step in enumerate(report.steps, start=1):
        per_state = "<br>".join(
            f"{html.escape(k)}: expected {html.escape(v)}; got "
            f"{html.escape(str(step.got.get(k, {}).get('status', step.got.get(k, {}).get('code', '?'))))}"
            f"{' in ' + str(step.got[k]['elapsed_ms']) + ' ms' if 'elapsed_ms' in step.got.get(k, {}) else ''}"
            for k, v in step.expected.items())
        table.append(f"<tr><td>{number}</td><td>{html.escape(step.name)}</td><td>{step.do}</td><td>{step.line}</td>"
                     f"<td class=\"{'ok' if step.ok else 'fail'}\">{'pass' if step.ok else 'FAIL'}<br>"
                     f"{html.escape(step.message)}</td><td>{step.elapsed_ms:.0f}</td><td>{per_state}</td></tr>")
    verdict = "passed" if report.ok else f"FAILED ({sum(not s.ok for s in report.steps)} step(s))"
    return (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>prum scenario: {html.escape(report.name)}"
            f"</title><style>{_STYLE}</style></head><body>"
            f"<h1>{html.escape(report.name)}: <span class=\"{'ok' if report.ok else 'fail'}\">{verdict}</span></h1>"
            f"<p>{html.escape(report.description)}</p><p>{html.escape(report.source)} · {report.topology} · states "
            f"{', '.join(report.states)} · {report.elapsed_s:.1f} s</p>"
            f"<h2>Timeline</h2><p>blue: a step, orange: a fault, red: a failed step; below, each fault while it is in "
            f"force (hatched)</p>"
            f"<div class=\"timeline\">{''.join(rows)}</div><div class=\"timeline faults\">{spans}</div>"
            f"<h2>Steps</h2><table>{''.join(table)}</table>"
            f"<script type=\"application/json\" id=\"report\">{html.escape(json.dumps(report.to_json()))}</script>"
            f"</body></html>\n")


def fault_spans(report: ScenarioReport, end_s: float) -> list[tuple[str, float, float]]:
    """(what, from, until) of each fault while it was in force: a toxic until its `remove_toxic`, a partition until
    its `heal`, a state down until its `restart`; one never lifted lasts to the end of the run."""
    spans: list[tuple[str, float, float]] = []
    open_faults: dict[str, tuple[str, float]] = {}
    for step in report.steps:
        details = step.details
        if not step.ok:
            continue
        pair = "-".join(details.get("between", []))
        if step.do == "toxic":
            open_faults[f"toxic:{step.name}"] = (f"{details.get('toxic')} -> {details.get('to')}", step.started_s)
        elif step.do == "partition":
            open_faults[f"partition:{pair}"] = (f"partition {pair}", step.started_s)
        elif step.do in ("stop", "kill"):
            open_faults[f"down:{details.get('state')}"] = (f"{details.get('state')} down", step.started_s)
        key = {"remove_toxic": f"toxic:{details.get('removed')}", "heal": f"partition:{pair}",
               "restart": f"down:{details.get('state')}"}.get(step.do)
        if key and key in open_faults:
            label, start = open_faults.pop(key)
            spans.append((label, start, step.started_s))
    spans += [(label, start, end_s) for label, start in open_faults.values()]
    return sorted(spans, key=lambda span: span[1])


def table_rows(report: ScenarioReport) -> list[dict[str, Any]]:
    """The rows of the CLI's table: one per step."""
    return [{"#": str(n), "step": s.name, "do": s.do, "result": "pass" if s.ok else "FAIL",
             "ms": f"{s.elapsed_ms:.0f}", "what happened": s.message} for n, s in enumerate(report.steps, start=1)]
