"""Policy folder → validated documents → :class:`~engine.policy.model.Policy`.

Reads every ``*.yaml`` file directly in the folder (``tests/`` is not part of the
policy), validates each against the schema, and builds the model. All problems
of all files are reported together.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.diagnostics import Diagnostic, DiagnosticSink, Location, PolicyError, display_path
from engine.policy import model as m
from engine.policy.schema import POLICY_VALIDATOR, validate
from engine.policy.versions import SECTIONS, assemble, effective_document
from engine.policy.yamlsource import SourceDocument, YamlError, load_yaml


def policy_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def _folder_documents(folder: Path, sink: DiagnosticSink) -> list[SourceDocument]:
    if not folder.is_dir():
        sink.error(Location(display_path(folder)), "找不到政策文件夹", "应为含 policy.yaml 的文件夹", code="no-policy")
        return []
    files = policy_files(folder)
    if not files:
        sink.error(Location(display_path(folder)), "文件夹里没有 .yaml 政策文件", code="no-policy")
    return read_validated(files, POLICY_VALIDATOR, sink, lambda: known_labels(folder))


def known_labels(folder: Path) -> dict[str, str]:
    """Chinese label → id of every item written in `folder` and the versions it extends (read
    only when a message needs it: a label written where an id belongs)."""
    labels: dict[str, str] = {}
    for each in [*reversed(ancestors(folder)), folder.resolve()]:
        for path in policy_files(each) if each.is_dir() else []:
            try:
                data = load_yaml(path).data
            except (YamlError, OSError, UnicodeDecodeError):
                continue
            parts = [data, data.get("override") or {}] if isinstance(data, dict) else []
            for items in (part.get(name) for part in parts for name in SECTIONS):
                for item in items if isinstance(items, list) else []:
                    if isinstance(item, dict) and isinstance(item.get("label"), str) and "id" in item:
                        labels[item["label"]] = str(item["id"])
    return labels


def read_validated(paths: list[Path], validator, sink: DiagnosticSink, labels=None) -> list[SourceDocument]:
    """The YAML files that parse and fit the schema; every problem of the others goes to the sink."""
    docs: list[SourceDocument] = []
    for path in paths:
        try:
            doc = load_yaml(path, display_path(path))
        except YamlError as exc:
            sink.extend([exc.diagnostic])
            continue
        if doc.data is None:
            sink.error(Location(doc.file, 1, 1), "文件是空的", code="empty-file")
            continue
        problems = validate(doc, validator, labels)
        sink.extend(problems)
        if not problems:
            docs.append(doc)
    return docs


def load_policy(folder: Path | str) -> m.Policy:
    """Load a policy folder — merged with the versions it extends — and validate it.
    Names and types are the checker's job."""
    folder = Path(folder)
    sink = DiagnosticSink()
    # Items the schema passed in their own files, by identity (kept here, so no id is reused): the
    # effective document shares them (merged items are new), and they need not be checked again.
    valid_items: dict[int, Any] = {}

    def documents(f: Path) -> list[SourceDocument]:
        docs = _folder_documents(f, sink)
        for doc in docs:
            for section in SECTIONS:
                valid_items.update((id(item), item) for item in doc.data.get(section) or [])
        return docs

    assembly = assemble(folder, documents, sink)
    sink.raise_if_any()
    assert assembly is not None
    doc, provenance = effective_document(assembly)
    sink.extend(validate(doc, known_valid=valid_items))  # an override may leave an item incomplete
    sink.raise_if_any()
    policy = build_policy(display_path(folder), doc)
    policy.lineage = assembly.lineage
    policy.lineage_folders = assembly.folders
    policy.provenance = provenance
    policy.changed = assembly.changed
    policy.merge_notes = assembly.notes
    policy.rewritten = assembly.rewritten
    return policy


def build_policy(folder: str, doc: SourceDocument) -> m.Policy:
    """The model of one effective document (ids are already unique: the assembly saw to it)."""
    sink = DiagnosticSink()
    manifest = _manifest(doc, doc.data["policy"], sink)
    policy = m.Policy(folder=folder, manifest=manifest, documents=[doc])
    for section in SECTIONS:
        for index, raw in enumerate(doc.data.get(section) or []):
            path = (section, index)
            getattr(policy, section)[raw["id"]] = _BUILDERS[section](raw, doc, path, doc.locate(path), sink)
    sink.raise_if_any()
    return policy


def citation(raw: dict[str, Any]) -> m.Citation:
    return m.Citation(
        cite=raw.get("cite", ""), text=raw.get("text", ""), decision=raw.get("decision", ""), note=raw.get("note", "")
    )


def _manifest(doc: SourceDocument, raw: dict[str, Any], sink: DiagnosticSink) -> m.Manifest:
    loc = doc.locate(("policy",))
    semesters = {}
    for season, sem in raw["semesters"].items():
        month, day = (int(x) for x in sem["reference_date"].split("-"))
        try:
            dt.date(2023, month, day)  # a common year: the reference date must exist every year (not 02-29)
        except ValueError:
            leap_day = (month, day) == (2, 29)
            sink.error(
                doc.locate(("policy", "semesters", season, "reference_date")),
                f"基准日「{sem['reference_date']}」"
                + ("不是每年都有的日期（平年没有 2 月 29 日）" if leap_day else "不是有效的月-日"),
                "基准日应为每年都有的月-日，如 09-01、03-01",
                code="bad-value",
            )
            month, day = 1, 1
        semesters[season] = m.Semester(season, sem["label"], month, day, citation(sem))
    until = raw["effective"].get("until")
    start, end = m.Period.parse(raw["effective"]["from"]), m.Period.parse(until) if until else None
    if end and end.key < start.key:
        sink.error(doc.locate(("policy", "effective")), f"生效学期的结束 {end} 早于开始 {start}", code="bad-value")
    return m.Manifest(
        id=raw["id"],
        version=str(raw["version"]),
        title=raw["title"],
        source={k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in raw["source"].items()},
        effective_from=start,
        effective_until=end,
        semesters=semesters,
        currency=raw["currency"],
        rounding=raw["rounding"],
        location=loc,
        note=raw.get("note", ""),
        illustration=bool(raw.get("illustration", False)),
        decisions={str(k): str(v) for k, v in (raw.get("decisions") or {}).items()},
    )


def _source(doc: SourceDocument, path: tuple, value: Any) -> m.Source:
    return m.Source(str(value), doc, path)


def _conditions(raw_list: Any, doc: SourceDocument, path: tuple) -> tuple[m.Condition, ...]:
    # A scalar YAML reads as a date or a number (`when: 2021-09-01`) is still a condition's text: the
    # schema saw it as text, and the checker reports it, located, as a condition that is not 是/否.
    if not isinstance(raw_list, list):
        return (m.Condition(_source(doc, path, str(raw_list))),)
    out = []
    for i, item in enumerate(raw_list):
        if not isinstance(item, dict):
            out.append(m.Condition(_source(doc, (*path, i), str(item))))
        else:
            out.append(m.Condition(_source(doc, (*path, i, "if"), item["if"]), item.get("label", ""), citation(item)))
    return tuple(out)


def _field(raw, doc, path, loc, sink) -> m.Field:
    values = tuple(m.EnumValue(v["id"], v["label"], tuple(v.get("aliases", ()))) for v in raw.get("values", ()))
    compute = raw.get("compute")
    return m.Field(
        id=raw["id"],
        label=raw["label"],
        type=raw["type"],
        location=loc,
        values=values,
        aliases=tuple(raw.get("aliases", ())),
        required=raw.get("required", False),
        unique=raw.get("unique", False),
        blank=raw.get("blank"),
        has_blank="blank" in raw,
        absent=raw.get("absent"),
        has_absent="absent" in raw,
        format=raw.get("format"),
        role=raw.get("role"),
        from_id=raw.get("from_id"),
        minimum=raw.get("min"),
        maximum=raw.get("max"),
        compute=_source(doc, (*path, "compute"), compute) if compute else None,
        description=raw.get("description", ""),
        citation=citation(raw),
        known=_known(raw.get("known"), doc, (*path, "known")),
    )


def _known(raw: dict[str, Any] | None, doc: SourceDocument, path: tuple) -> m.KnownValues | None:
    """A text field's known values, written and aliases trimmed as cells are (spaces never matter)."""
    if raw is None:
        return None
    required = raw.get("required_when")
    return m.KnownValues(
        values=tuple(str(v).strip() for v in raw["values"]),
        aliases={str(k).strip(): str(v).strip() for k, v in (raw.get("aliases") or {}).items()},
        location=doc.locate(path),
        doc=doc,
        path=path,
        required_when=_source(doc, (*path, "required_when"), required) if required is not None else None,
        note=raw.get("note", ""),
    )


def _parameter(raw, doc, path, loc, sink) -> m.Parameter:
    return m.Parameter(raw["id"], raw["label"], raw["type"], raw["value"], loc, citation(raw))


def _table(raw, doc, path, loc, sink) -> m.Table:
    if len(raw.get("fallback") or {}) > 1:
        sink.error(
            doc.locate((*path, "fallback")),
            f"表「{raw['label']}」只能有一个兜底字段（写了 {'、'.join(raw['fallback'])}）",
            "兜底行只对一个查表字段成立，如 {school: 其他学校}",
            code="table-fallback",
        )
    return m.Table(
        id=raw["id"],
        label=raw["label"],
        keys=tuple(raw["keys"]),
        value_type=raw.get("value", "money"),
        rows=raw["rows"],
        location=loc,
        doc=doc,
        path=(*path, "rows"),
        sample=raw.get("sample", False),
        citation=citation(raw),
        fallback=next(iter(raw["fallback"].items())) if raw.get("fallback") else None,
    )


def _group(raw, doc, path, loc, sink) -> m.Group:
    return m.Group(
        raw["id"], raw["label"], _conditions(raw["when"], doc, (*path, "when")), loc, raw.get("rule", ""), citation(raw)
    )


def _program(raw, doc, path, loc, sink) -> m.Program:
    exclusions = tuple(
        m.Exclusion(
            id=ex["id"],
            condition=_source(doc, (*path, "unless", i, "if"), ex["if"]),
            reason=ex["reason"],
            citation=citation(ex),
        )
        for i, ex in enumerate(raw.get("unless", ()))
    )
    relations = tuple(
        m.Relation(rel["program"], doc.locate((*path, "not_with", i, "program")), citation(rel))
        for i, rel in enumerate(raw.get("not_with", ()))
    )
    quota_raw = raw.get("quota")
    quota = None
    if quota_raw and (quota_raw.get("count") is not None or quota_raw.get("budget") is not None):
        budget = quota_raw.get("budget")
        quota = m.Quota(quota_raw.get("count"), Decimal(budget) if budget is not None else None)
    priority = raw.get("priority")
    return m.Program(
        id=raw["id"],
        label=raw["label"],
        kind=raw["kind"],
        per=raw["per"],
        conditions=_conditions(raw["when"], doc, (*path, "when")),
        amount=_source(doc, (*path, "amount"), raw["amount"]),
        location=loc,
        exclusions=exclusions,
        not_with=relations,
        priority=_source(doc, (*path, "priority"), priority) if priority is not None else None,
        quota=quota,
        citation=citation(raw),
        paid_by=raw.get("paid_by", "bureau"),
    )


def _check(raw, doc, path, loc, sink) -> m.Check:
    return m.Check(
        raw["id"],
        raw["label"],
        _conditions(raw["when"], doc, (*path, "when")),
        raw["message"],
        loc,
        citation(raw),
        raw.get("category", m.DEFAULT_CHECK_CATEGORY),
    )


def _property(raw, doc, path, loc, sink) -> m.Property:
    for_ = raw.get("for")
    return m.Property(
        id=raw["id"],
        label=raw["label"],
        expect=_source(doc, (*path, "expect"), raw["expect"]),
        location=loc,
        for_=_source(doc, (*path, "for"), for_) if for_ is not None else None,
        citation=citation(raw),
    )


_BUILDERS = {
    "parameters": _parameter,
    "fields": _field,
    "tables": _table,
    "groups": _group,
    "programs": _program,
    "checks": _check,
    "properties": _property,
}


def declared_manifest(folder: Path, strict: bool = False) -> dict[str, Any]:
    """A version's own policy: block (not merged), read without checking the rest of the folder.
    Unreadable, it declares nothing; with `strict`, a YAML error is raised as the located error it is
    (not reported as a missing effective.from)."""
    try:
        data = load_yaml(folder / "policy.yaml", display_path(folder / "policy.yaml")).data
    except YamlError as exc:
        if strict:
            raise PolicyError([exc.diagnostic]) from None
        return {}
    except (OSError, UnicodeDecodeError):  # unreadable: it declares nothing
        return {}
    manifest = data.get("policy") if isinstance(data, dict) else None
    return manifest if isinstance(manifest, dict) else {}


def declared_effective(folder: Path) -> tuple[m.Period, m.Period | None]:
    effective = declared_manifest(folder, strict=True).get("effective")
    effective = effective if isinstance(effective, dict) else {}
    try:
        start = m.Period.parse(str(effective.get("from")))
        until = effective.get("until")
        return start, m.Period.parse(str(until)) if until else None
    except ValueError:
        raise PolicyError(
            [
                Diagnostic(
                    Location(display_path(folder / "policy.yaml")), "政策说明缺少有效的 effective.from", code="schema"
                )
            ]
        ) from None


def ancestors(folder: Path) -> list[Path]:
    """The folders a version extends, nearest first (read from the manifests alone)."""
    chain: list[Path] = []
    current = folder.resolve()
    while (extends := declared_manifest(current).get("extends")) and len(chain) < 50:
        try:
            current = (current / str(extends)).resolve()
        except (RuntimeError, OSError):  # a symbolic link loop: loading that version says where
            break
        if current in chain:
            break
        chain.append(current)
    return chain
