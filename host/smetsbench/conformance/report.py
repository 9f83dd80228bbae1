"""Conformance output: console table with progress, JUnit XML, Markdown and HTML reports.

Everything here reads a `conformance.Summary` (or one `ScenarioResult`); nothing runs devices.
Not-emulated scenarios are JUnit "skipped" and never counted as passes anywhere.
"""

import html
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from smetsbench.conformance.runner import FAIL, NOT_EMULATED, OUTCOMES, PASS

_LABEL = {PASS: "PASS", FAIL: "FAIL", NOT_EMULATED: "NOT EMULATED"}


def _plural(n, word):
    return "%d %s%s" % (n, word, "" if n == 1 else "s")


# ------------------------------------------------------------------------------- console


def console_header(runner, scenarios):
    types = sorted({s.device_type for s in scenarios})
    return ("smetsbench conformance: %d scenarios from %s (keystore %s)\n"
            "device types: %s; emulated: %s\n\n%-9s %-12s %-6s %-4s %-8s %-64s %8s  %s\n%s" % (
                len(scenarios), runner.rtds, runner.keystore, ", ".join(types) or "-",
                ", ".join(sorted(runner.emulated_types)), "#", "outcome", "device", "code",
                "use case", "scenario", "time", "details", "-" * 130))


def _short(text, n=90):
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 3] + "..."


def console_line(i, n, res):
    s = res.scenario
    if res.outcome == PASS:
        v = len(res.value_diffs)
        detail = "%s reported" % _plural(v, "value difference") if v else "identical shape"
        if res.notes:
            detail += "; " + "; ".join(res.notes)
    else:
        detail = res.reason
    line = "[%*d/%d] %-12s %-6s %-4s %-8s %-64s %6.0f ms  %s" % (
        len(str(n)), i, n, _LABEL[res.outcome], s.device_type, s.code_text, s.use_case,
        _short(s.id, 64), res.duration_ms, _short(detail))
    if res.outcome == FAIL:
        extra = [str(d) for d in res.shape_diffs[:6]]
        extra += ["check failed: %s: %s" % (c.name, c.detail) for c in res.checks.failures()]
        line += "".join("\n%10s%s" % ("", _short(x, 118)) for x in extra)
    return line


def _count_row(name, c, width=24):
    total = sum(c.values())
    return "%-*s %6d %6d %14d %7d" % (width, name, c[PASS], c[FAIL], c[NOT_EMULATED], total)


def console_summary(summary):
    lines = ["-" * 130]
    head = "%-24s %6s %6s %14s %7s" % ("device type", "pass", "fail", "not emulated", "total")
    lines += ["", head]
    total = summary.counts()
    for dev, c in summary.counts_by_device().items():
        lines.append(_count_row(dev, c))
    lines.append(_count_row("all", total))
    run_codes = [(k, c) for k, c in summary.counts_by_code().items()
                 if c[PASS] or c[FAIL]]
    if run_codes:
        lines += ["", "%-24s %6s %6s %14s %7s" % ("message code (replayed)", "pass", "fail",
                                                   "not emulated", "total")]
        for (code, uc, dev), c in run_codes:
            lines.append(_count_row("%s %s %s" % (code, uc, dev), c))
    idle = [k for k, c in summary.counts_by_code().items() if not (c[PASS] or c[FAIL])]
    if idle:
        lines.append("%s not emulated at all (per-code table in the report)" % _plural(
            len({k[0] for k in idle}), "other message code"))
    fails = summary.of(FAIL)
    if fails:
        lines += ["", "failures:"]
        lines += ["  %s: %s" % (r.scenario.id, _short(r.reason, 100)) for r in fails]
    if summary.restarts:
        lines += ["", ("board restarts (bench error; the scenario was replayed on a restarted "
                       "board):")]
        lines += ["  %s: %s" % (sid, _short(why, 100)) for sid, why in summary.restarts]
    by_dev = "; ".join("%s %d pass / %d fail / %d not emulated" % (
        d, c[PASS], c[FAIL], c[NOT_EMULATED]) for d, c in summary.counts_by_device().items())
    lines += ["", "%d scenarios in %.1f s: %d pass, %d fail, %d not emulated (%s)" % (
        len(summary.results), summary.duration_s, total[PASS], total[FAIL],
        total[NOT_EMULATED], by_dev)]
    return "\n".join(lines)


# ------------------------------------------------------------------------------- JUnit


def junit_tree(summary):
    root = ET.Element("testsuites", name="smetsbench conformance",
                      tests=str(len(summary.results)), failures=str(summary.failed),
                      skipped=str(summary.not_emulated), errors="0",
                      time="%.3f" % summary.duration_s)
    suites = {}
    for r in summary.results:
        dev = r.scenario.device_type
        if dev not in suites:
            suites[dev] = ET.SubElement(root, "testsuite", name="conformance.%s" % dev)
            props = ET.SubElement(suites[dev], "properties")
            for k, v in summary.info.items():
                ET.SubElement(props, "property", name=str(k), value=str(v))
        s = r.scenario
        case = ET.SubElement(suites[dev], "testcase",
                             classname="conformance.%s.%s_%s" % (dev, s.code_text, s.use_case),
                             name=s.id, time="%.3f" % (r.duration_ms / 1000))
        if r.outcome == FAIL:
            el = ET.SubElement(case, "failure", message=_short(r.reason, 200),
                               type="error" if r.error else "conformance")
            el.text = r.details()
        elif r.outcome == NOT_EMULATED:
            ET.SubElement(case, "skipped", message="not emulated: " + r.reason)
        elif r.value_diffs or r.notes:
            out = ET.SubElement(case, "system-out")
            out.text = r.details()
    for dev, suite in suites.items():
        rs = [r for r in summary.results if r.scenario.device_type == dev]
        suite.set("tests", str(len(rs)))
        suite.set("failures", str(sum(r.outcome == FAIL for r in rs)))
        suite.set("skipped", str(sum(r.outcome == NOT_EMULATED for r in rs)))
        suite.set("errors", "0")
        suite.set("time", "%.3f" % (sum(r.duration_ms for r in rs) / 1000))
    return ET.ElementTree(root)


def write_junit(summary, path):
    tree = junit_tree(summary)
    ET.indent(tree)
    tree.write(str(path), encoding="utf-8", xml_declaration=True)


# ------------------------------------------------------------------------------- reports


def _sections(summary):
    """Report content as (kind, data) blocks shared by the Markdown and HTML writers."""
    blocks = []
    info = [("date", time.strftime("%Y-%m-%d %H:%M:%S %Z")),
            ("duration", "%.1f s" % summary.duration_s)]
    info += [(k, v if isinstance(v, str) else ", ".join("%s %s" % kv for kv in v.items()))
             for k, v in summary.info.items()]
    blocks.append(("info", info))
    if summary.restarts:
        blocks.append(("p", "Board restarts: %d. The board stopped answering during these "
                            "scenarios; each was replayed once on a restarted board: %s" % (
                                len(summary.restarts), "; ".join(
                                    "%s (%s)" % r for r in summary.restarts))))
    total = summary.counts()
    blocks.append(("p", "%d scenarios: %d pass, %d fail, %d not emulated. Not-emulated "
                        "scenarios (device type or message code not implemented, or nothing "
                        "to replay) are never counted as passes." % (
                            len(summary.results), total[PASS], total[FAIL],
                            total[NOT_EMULATED])))
    rows = [[d, c[PASS], c[FAIL], c[NOT_EMULATED], sum(c.values())]
            for d, c in summary.counts_by_device().items()]
    rows.append(["all", total[PASS], total[FAIL], total[NOT_EMULATED], sum(total.values())])
    blocks.append(("h2", "Per device type"))
    blocks.append(("table", (["device type", "pass", "fail", "not emulated", "total"], rows)))
    blocks.append(("h2", "Per message code"))
    rows = [[code, uc, dev, c[PASS], c[FAIL], c[NOT_EMULATED], sum(c.values())]
            for (code, uc, dev), c in summary.counts_by_code().items()]
    blocks.append(("table", (["code", "use case", "device", "pass", "fail", "not emulated",
                              "total"], rows)))
    fails = summary.of(FAIL)
    blocks.append(("h2", "Failures (%d)" % len(fails)))
    if not fails:
        blocks.append(("p", "None."))
    for r in fails:
        blocks.append(("h3", r.scenario.id))
        blocks.append(("p", "%s %s %s: %s" % (r.scenario.device_type, r.scenario.code_text,
                                               r.scenario.use_case, r.reason)))
        blocks.append(("pre", r.details(reason=False)))
    passes = summary.of(PASS)
    blocks.append(("h2", "Passes (%d)" % len(passes)))
    rows = []
    for r in passes:
        vals = "; ".join(str(d) for d in r.value_diffs) or "identical shape and values"
        if r.notes:
            vals += "; " + "; ".join(r.notes)
        rows.append([r.scenario.id, r.scenario.code_text, "%.0f ms" % r.duration_ms, vals])
    if rows:
        blocks.append(("table", (["scenario", "code", "time", "reported differences"], rows)))
    skipped = summary.of(NOT_EMULATED)
    blocks.append(("h2", "Not emulated (%d)" % len(skipped)))
    by_reason = {}
    for r in skipped:
        by_reason.setdefault(r.reason, []).append(r.scenario.id)
    rows = [[reason, len(ids), ", ".join(ids)] for reason, ids in sorted(
        by_reason.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
    if rows:
        blocks.append(("table", (["reason", "scenarios", "ids"], rows)))
    return blocks


def _md_cell(v):
    return str(v).replace("|", "\\|").replace("\n", " ")


def markdown(summary):
    out = ["# smetsbench conformance report", ""]
    for kind, data in _sections(summary):
        if kind == "info":
            out += ["- **%s**: %s" % (k, _md_cell(v)) for k, v in data] + [""]
        elif kind == "p":
            out += [data, ""]
        elif kind in ("h2", "h3"):
            out += ["#" * int(kind[1]) + " " + data, ""]
        elif kind == "pre":
            out += ["```diff", data, "```", ""]
        elif kind == "table":
            head, rows = data
            out.append("| " + " | ".join(head) + " |")
            out.append("|" + "|".join("---" for _ in head) + "|")
            out += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
            out.append("")
    return "\n".join(out)


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:left;vertical-align:top;font-size:90%}th{background:#eee}
pre{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:85%}
.pass{color:#070}.fail{color:#b00}.skip{color:#777}"""


def _pre_html(text):
    lines = []
    for line in text.split("\n"):
        e = html.escape(line)
        if line.startswith("-") and not line.startswith("---"):
            e = '<span class="fail">%s</span>' % e
        elif line.startswith("+") and not line.startswith("+++"):
            e = '<span class="pass">%s</span>' % e
        lines.append(e)
    return "\n".join(lines)


def html_report(summary):
    out = ["<!DOCTYPE html>", '<html><head><meta charset="utf-8">',
           "<title>smetsbench conformance report</title><style>%s</style></head><body>" % _CSS,
           "<h1>smetsbench conformance report</h1>"]
    for kind, data in _sections(summary):
        if kind == "info":
            out.append("<ul>%s</ul>" % "".join("<li><b>%s</b>: %s</li>" % (
                html.escape(str(k)), html.escape(str(v))) for k, v in data))
        elif kind == "p":
            out.append("<p>%s</p>" % html.escape(data))
        elif kind in ("h2", "h3"):
            out.append("<%s>%s</%s>" % (kind, html.escape(data), kind))
        elif kind == "pre":
            out.append("<pre>%s</pre>" % _pre_html(data))
        elif kind == "table":
            head, rows = data
            out.append("<table><tr>%s</tr>" % "".join("<th>%s</th>" % html.escape(h)
                                                       for h in head))
            for row in rows:
                out.append("<tr>%s</tr>" % "".join("<td>%s</td>" % html.escape(str(v))
                                                   for v in row))
            out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out)


def write_report(summary, path):
    """A self-contained report: HTML for .html/.htm, Markdown otherwise."""
    path = Path(path)
    text = html_report(summary) if path.suffix.lower() in (".html", ".htm") else \
        markdown(summary)
    path.write_text(text, encoding="utf-8")


__all__ = [
    "OUTCOMES",
    "console_header",
    "console_line",
    "console_summary",
    "html_report",
    "junit_tree",
    "markdown",
    "write_junit",
    "write_report",
]
