"""Policy versions: a folder may extend an earlier one; the effective policy is the merge.

A version adds items (new ids in the ordinary sections), overrides items
(``override:`` — only what changes, a table down to one cell) and removes items
(``remove:``), all by id. The result is one effective document whose every node
still points into the file and line it came from, plus the provenance of each
item, so errors, ``zizhu show`` and ``zizhu diff`` speak of the real YAML.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.diagnostics import Diagnostic, DiagnosticSink, Location, PolicyError, display_path, suggest
from engine.policy.model import CITE_EXAMPLES, CITE_STYLES, Period
from engine.policy.yamlsource import PathKey, ScalarStart, SourceDocument
from engine.vocabulary import SECTION_WORDS

SECTIONS = ("parameters", "fields", "tables", "groups", "programs", "checks", "properties")


@dataclass
class _Node:
    """A subtree of YAML with the location of each of its nodes, by path relative to it."""

    data: Any
    positions: dict[PathKey, Location]
    scalars: dict[PathKey, ScalarStart]


@dataclass
class Entry:
    node: _Node
    origin: list[str] = field(default_factory=list)  # where it was written, then each override


@dataclass
class Assembly:
    folder: str
    manifest: _Node
    items: dict[str, dict[str, Entry]]
    lineage: list[str]  # "id version (folder)" of this version and those it extends, newest first
    changed: set[tuple[str, str]] = field(default_factory=set)  # (section, id) added or overridden here
    # "file:line: what happened" for each list an override replaced whole rather than by id.
    notes: list[str] = field(default_factory=list)
    # (section, id) → the keys this version's own overrides of the item write.
    rewritten: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    # How this version's document numbers its clauses: (style in words, regular expression).
    cite_rule: tuple[str, str] = ("方案条目", CITE_STYLES["方案条目"])
    # The folder of this version and of each it extends, as locations name them, newest first.
    folders: list[str] = field(default_factory=list)


def _subtree(doc: SourceDocument, prefix: PathKey) -> _Node:
    """The item at `prefix`, its data not copied: nothing changes a document's data in place once
    it is read (:func:`_merge` builds new mappings and lists where it changes something), so the
    item may share it with the document (a deep copy of every item cost seconds for 10,000). Its
    positions are the grouping's own dicts, likewise never changed (a merge makes new ones)."""
    positions, scalars = _grouped(doc, len(prefix)).get(tuple(prefix), ({}, {}))
    return _Node(_get(doc.data, prefix), positions, scalars)


# A document's positions and scalar starts grouped by their first n keys, built once per document
# and n while a policy is assembled: cutting every item out of a document is then linear in its
# size, not items × nodes (10,000 programs would otherwise take minutes).
_Groups = dict[PathKey, tuple[dict[PathKey, Location], dict[PathKey, ScalarStart]]]
_grouping: dict[tuple[int, int], tuple[SourceDocument, _Groups]] = {}


def _grouped(doc: SourceDocument, n: int) -> _Groups:
    cached = _grouping.get((id(doc), n))
    if cached is not None and cached[0] is doc:
        return cached[1]
    groups: _Groups = {}
    for table, kind in ((doc.positions, 0), (doc.scalar_starts, 1)):
        for path, value in table.items():
            if len(path) >= n:
                head = path[:n]
                group = groups.get(head)
                if group is None:  # (not setdefault: that would make two dicts for every node)
                    group = groups[head] = ({}, {})
                group[kind][path[n:]] = value
    _grouping[(id(doc), n)] = (doc, groups)
    return groups


def _get(data: Any, path: PathKey) -> Any:
    for key in path:
        data = data[key]
    return data


def _merge(base: _Node, patch: _Node, notes: list[str] | None = None) -> _Node:
    """Mappings merge key by key (so a table can change one cell); lists whose items have ids merge
    by id (see :func:`_merge_list_by_id`); anything else is replaced, and a replaced list without
    ids (a `when` list) is noted in `notes`, so `check` and `show` can say so.

    Neither `base` nor `patch` is changed: each mapping and list the patch changes is a new one, and
    what it leaves alone is shared with `base` (copy on write; data is never changed in place)."""
    positions = dict(base.positions)
    scalars = dict(base.scalars)
    data = _merged(base.data, patch.data, patch, (), positions, scalars, notes)
    return _Node(data, positions, scalars)


def _merged(
    target: dict,
    value: dict,
    patch: _Node,
    path: PathKey,
    positions: dict[PathKey, Location],
    scalars: dict[PathKey, ScalarStart],
    notes: list[str] | None,
) -> dict:
    """A new mapping: `target` with `value`, the patch's mapping at `path`, merged in (see
    :func:`_merge`); `positions` and `scalars` are updated to match."""
    result = dict(target)
    for key, new in value.items():
        sub = (*path, key)
        old = result.get(key)
        if isinstance(new, dict) and isinstance(old, dict):
            result[key] = _merged(old, new, patch, sub, positions, scalars, notes)
            if sub in patch.positions:
                positions[sub] = patch.positions[sub]
            continue
        id_key = list_id_key(old, new)
        if id_key is not None:
            result[key] = merged_list = list(old)
            for index, new_index in _merge_list_by_id(merged_list, new, id_key).items():
                _take(patch, (*sub, index), (*sub, new_index), positions, scalars)
            continue
        if notes is not None and old is not None and (isinstance(old, list) or key == "when"):
            lost = "条件" if key == "when" else "项"
            notes.append(
                f"{'.'.join(map(str, sub))} 没有逐项的标识，已整体替换上一版本的"
                + (f" {len(old)} 项" if isinstance(old, list) else "写法")
                + f"（上一版本中没有重写的{lost}不再适用）"
            )
        result[key] = new
        _take(patch, sub, sub, positions, scalars)
    return result


def _take(
    patch: _Node,
    sub: PathKey,
    into: PathKey,
    positions: dict[PathKey, Location],
    scalars: dict[PathKey, ScalarStart],
) -> None:
    """Forget what was under `into` and take the patch's nodes under `sub` there."""
    first, k = into[0], len(into)
    for table in (positions, scalars):
        for p in [p for p in table if p and p[0] == first and p[:k] == into]:
            del table[p]
    n = len(sub)
    positions.update({(*into, *p[n:]): loc for p, loc in patch.positions.items() if p[:n] == sub})
    scalars.update({(*into, *p[n:]): s for p, s in patch.scalars.items() if p[:n] == sub})


# What names an item of a list, by the list's key: most items have an `id`; a `not_with`
# relation is named by the program it gives way to.
ID_KEYS = ("id", "program")


def list_id_key(old: Any, new: Any) -> str | None:
    """The key that names every item of both lists (they merge by it), or None."""
    if not (isinstance(old, list) and isinstance(new, list)) or not new:
        return None
    for key in ID_KEYS:
        if all(isinstance(item, dict) and key in item for item in (*old, *new)):
            return key
    return None


def _merge_list_by_id(target: list, patch: list, id_key: str) -> dict[int, int]:
    """Items of `patch` replace the item of `target` with the same id, or are added at the end;
    the other items of `target` are kept, in their order. Returns patch index → index in target."""
    index_of = {item[id_key]: i for i, item in enumerate(target)}
    placed = {}
    for index, item in enumerate(patch):
        new_index = index_of.get(item[id_key])
        if new_index is None:
            new_index = index_of[item[id_key]] = len(target)
            target.append(item)
        else:
            target[new_index] = item
        placed[index] = new_index
    return placed


def _where(doc: SourceDocument, path: PathKey) -> str:
    loc = doc.locate(path)
    return f"{loc.file}:{loc.line}"


def assemble(folder: Path, docs_of, sink: DiagnosticSink, seen: tuple[Path, ...] = ()) -> Assembly | None:
    """The merged sections of `folder` and every version it extends. `docs_of(folder)` loads and
    validates one folder's files. Problems go to the sink; None when the folder cannot be assembled."""
    if seen:
        return _assemble(folder, docs_of, sink, seen)
    try:
        return _assemble(folder, docs_of, sink, seen)
    finally:
        _grouping.clear()  # the documents' groupings are needed only while assembling


def _assemble(folder: Path, docs_of, sink: DiagnosticSink, seen: tuple[Path, ...]) -> Assembly | None:
    errors_before = len(sink.items)
    docs: list[SourceDocument] = docs_of(folder)
    if len(sink.items) > errors_before:
        return None  # the folder's own files have problems; merging them would only add noise
    manifests = [(doc, doc.data["policy"]) for doc in docs if "policy" in doc.data]
    if not manifests:
        hint = "在 policy.yaml 中写明 id、version、title、effective 等"
        sink.error(Location(str(folder)), "缺少政策说明（policy:）", hint, code="schema")
        return None
    for doc, _ in manifests[1:]:
        sink.error(
            doc.locate(("policy",)),
            "政策说明（policy:）只能写一次",
            f"已在 {manifests[0][0].file} 中写过",
            code="duplicate-name",
        )
    manifest_doc, raw = manifests[0]
    manifest = _subtree(manifest_doc, ("policy",))
    label = f"{raw['id']} {raw['version']} ({display_path(folder)})"
    items: dict[str, dict[str, Entry]] = {s: {} for s in SECTIONS}
    lineage = [label]
    folders = [display_path(folder)]
    base_rule = ("方案条目", CITE_STYLES["方案条目"])
    if "extends" in raw:
        where = manifest_doc.locate(("policy", "extends"))
        try:
            parent = (folder / raw["extends"]).resolve()
        except (RuntimeError, OSError) as exc:  # a symbolic link that points back at itself
            sink.error(where, f"所继承的政策文件夹「{raw['extends']}」无法找到：符号链接形成循环（{exc}）")
            return None
        if parent in seen or parent == folder.resolve():
            sink.error(where, f"版本继承形成循环：{raw['extends']}", code="cycle")
            return None
        if not (parent / "policy.yaml").is_file() and not parent.is_dir():
            siblings = [f"../{p.name}" for p in version_folders(folder.resolve().parent) if p != folder.resolve()]
            sink.error(
                where,
                f"找不到所继承的政策文件夹「{raw['extends']}」（{display_path(parent)}）",
                f"extends 的路径从本版本的文件夹（{display_path(folder)}）算起，上一级写 ../；"
                + ("现有的版本：" + "、".join(siblings) if siblings else "旁边没有别的政策版本文件夹"),
                code="extends-not-found",
            )
            return None
        base = _assemble(parent, docs_of, sink, (*seen, folder.resolve()))
        if base is None:
            return None
        items = {s: dict(entries) for s, entries in base.items.items()}
        manifest = _merge(base.manifest, manifest)
        manifest.data.pop("extends", None)
        lineage += base.lineage
        folders += base.folders
        base_rule = base.cite_rule
    cite_rule = _cite_rule(manifest_doc, raw, base_rule, sink)
    for doc in docs:
        check_citations(doc, cite_rule, sink)
    inherited = {(section, item_id): entry for section, entries in items.items() for item_id, entry in entries.items()}
    for doc in docs:
        _add(doc, items, sink)
    notes: list[str] = []
    rewritten: dict[tuple[str, str], set[str]] = {}
    for doc in docs:
        _override(doc, items, sink, notes)
        for section, patches in (doc.data.get("override") or {}).items():
            for patch in patches:
                rewritten.setdefault((section, patch["id"]), set()).update(patch)
        _remove(doc, items, sink)
    changed = {
        (section, item_id)
        for section, entries in items.items()
        for item_id, entry in entries.items()
        if inherited.get((section, item_id)) is not entry
    }
    return Assembly(display_path(folder), manifest, items, lineage, changed, notes, rewritten, cite_rule, folders)


def _cite_rule(
    doc: SourceDocument, raw: dict[str, Any], inherited: tuple[str, str], sink: DiagnosticSink
) -> tuple[str, str]:
    """The clause style of the document this version encodes: its manifest's source says
    (cite_style, or cite_pattern), else the style of the version it extends."""
    source = raw.get("source") or {}
    if "cite_pattern" in source:
        try:
            re.compile(source["cite_pattern"])
        except re.error as exc:
            where = doc.locate(("policy", "source", "cite_pattern"))
            sink.error(where, f"cite_pattern 不是有效的正则表达式：{exc}", code="bad-pattern")
            return inherited
        return (f"cite_pattern {source['cite_pattern']}", source["cite_pattern"])
    if "cite_style" in source:
        return (source["cite_style"], CITE_STYLES[source["cite_style"]])
    return inherited


def check_citations(doc: SourceDocument, rule: tuple[str, str], sink: DiagnosticSink) -> None:
    """Every `cite` written in this file follows its document's clause numbering."""
    style, pattern = rule
    found: list[tuple[PathKey, str]] = []
    _bad_cites(doc.data, (), re.compile(pattern), found)
    example = CITE_EXAMPLES.get(style, "")
    for path, value in found:
        sink.error(
            doc.locate(path),
            f"条款编号「{value}」不符合本文件条款的写法（{style}" + (f"，如 {example}）" if example else "）"),
            "引用另一份文件的条款时，在 policy: 的 source: 下写明该文件和它的 cite_style"
            "（方案条目 如 一(二)2(2)；条款 如 第三条第（二）款）",
            code="bad-cite",
        )


def _bad_cites(node: Any, path: PathKey, matcher: re.Pattern[str], found: list[tuple[PathKey, str]]) -> None:
    """Each `cite` under `node` that `matcher` does not fit, in the file's order. (A function of its
    own: a recursive inner function would be a reference cycle holding the document until the
    cycle collector runs; see yamlsource.cycle_collection_paused.)"""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "cite" and isinstance(value, str):
                if not matcher.fullmatch(value.strip()):
                    found.append(((*path, key), value))
            elif isinstance(value, (dict, list)):
                _bad_cites(value, (*path, key), matcher, found)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            if isinstance(item, (dict, list)):
                _bad_cites(item, (*path, index), matcher, found)


def _find(items: dict[str, dict[str, Entry]], item_id: str) -> tuple[str, Entry] | None:
    for section, entries in items.items():
        if item_id in entries:
            return section, entries[item_id]
    return None


def _add(doc: SourceDocument, items: dict[str, dict[str, Entry]], sink: DiagnosticSink) -> None:
    for section in SECTIONS:
        for index, raw in enumerate(doc.data.get(section) or []):
            path = (section, index)
            existing = _find(items, raw["id"])
            if existing:
                other_section, entry = existing
                sink.error(
                    doc.locate((*path, "id")),
                    f"标识「{raw['id']}」已在 {entry.origin[0]} 用作{SECTION_WORDS[other_section]}",
                    "要修改上一版本的项目，请写在 override: 下；同一版本内标识不能重复",
                    code="duplicate-name",
                )
                continue
            items[section][raw["id"]] = Entry(_subtree(doc, path), [_where(doc, path)])


def _override(doc: SourceDocument, items: dict[str, dict[str, Entry]], sink: DiagnosticSink, notes: list[str]) -> None:
    for section, patches in (doc.data.get("override") or {}).items():
        for index, raw in enumerate(patches):
            path = ("override", section, index)
            entry = items[section].get(raw["id"])
            if entry is None:
                sink.error(
                    doc.locate((*path, "id")),
                    f"要覆盖的{SECTION_WORDS[section]}「{raw['id']}」在上一版本中不存在",
                    suggest(raw["id"], list(items[section])),
                    code="unknown-name",
                )
                continue
            replaced_whole: list[str] = []
            merged = _merge(entry.node, _subtree(doc, path), replaced_whole)
            origin = "覆盖于 " + _where(doc, path)
            if replaced_whole:
                origin += "（" + "；".join(replaced_whole) + "）"
            item = f"{SECTION_WORDS[section]}「{entry.node.data.get('label', raw['id'])}」"
            notes.extend(f"{_where(doc, path)}: {item}的 {note}" for note in replaced_whole)
            items[section][raw["id"]] = Entry(merged, [*entry.origin, origin])


def _remove(doc: SourceDocument, items: dict[str, dict[str, Entry]], sink: DiagnosticSink) -> None:
    for key, ids in (doc.data.get("remove") or {}).items():
        if "." in key:
            _remove_inside(doc, key, ids, items, sink)
            continue
        section = key
        for index, item_id in enumerate(ids):
            if item_id not in items[section]:
                sink.error(
                    doc.locate(("remove", section, index)),
                    f"要删除的{SECTION_WORDS[section]}「{item_id}」在上一版本中不存在",
                    suggest(item_id, list(items[section])),
                    code="unknown-name",
                )
                continue
            del items[section][item_id]


def _remove_inside(
    doc: SourceDocument, key: str, ids: list[str], items: dict[str, dict[str, Entry]], sink: DiagnosticSink
) -> None:
    """`remove: {programs.national_grant.unless: [vocational_year_3]}`: items of a list inside an
    item, by their ids; the rest of the list and of the item are kept."""
    where = doc.locate(("remove", key))
    section, item_id, *inner = key.split(".")
    entry = items.get(section, {}).get(item_id) if section in SECTIONS else None
    if entry is None or not inner:
        known = [f"{s}.{i}" for s in SECTIONS for i in items[s]]
        hint = suggest(f"{section}.{item_id}", known) or "路径写法如 programs.national_grant.unless"
        sink.error(where, f"要删除的位置「{key}」不存在：没有这个项目", hint, code="unknown-name")
        return
    node = _Node(copy.deepcopy(entry.node.data), dict(entry.node.positions), dict(entry.node.scalars))
    path: PathKey = ()
    container: Any = node.data
    for step in inner:
        if isinstance(container, list):
            id_key = list_id_key(container, container) or "id"
            found = [i for i, item in enumerate(container) if isinstance(item, dict) and item.get(id_key) == step]
            step_key: str | int | None = found[0] if found else None
        else:
            step_key = _mapping_key(container, step) if isinstance(container, dict) else None
        if step_key is None:
            sink.error(where, f"要删除的位置「{key}」不存在：「{step}」找不到", code="unknown-name")
            return
        path, container = (*path, step_key), container[step_key]
    if isinstance(container, dict) and path:
        if not _remove_keys(doc, key, ids, container, node, path, sink):
            return
    else:
        id_key = list_id_key(container, container)
        if id_key is None:
            sink.error(
                where,
                f"「{key}」不是带标识的列表，也不是简称或表格的一层，不能按标识删除其中的项",
                "整体修改请写在 override: 下",
                code="not-an-id-list",
            )
            return
        present = [item[id_key] for item in container]
        for index, value in enumerate(ids):
            if value not in present:
                sink.error(
                    doc.locate(("remove", key, index)),
                    f"「{key}」中没有「{value}」",
                    suggest(str(value), present) or "现有：" + "、".join(map(str, present)),
                    code="unknown-name",
                )
        keep = [i for i, item in enumerate(container) if item[id_key] not in ids]
        container[:] = [container[i] for i in keep]
        moved = {old: new for new, old in enumerate(keep)}
        n = len(path)
        for table in (node.positions, node.scalars):
            for p in [p for p in table if p[:n] == path and len(p) > n]:
                value = table.pop(p)
                if p[n] in moved:
                    table[(*path, moved[p[n]], *p[n + 1 :])] = value  # type: ignore[index]
    removed = f"删除 {key} 中的 {'、'.join(map(str, ids))} 于 {where.file}:{where.line}"
    items[section][item_id] = Entry(node, [*entry.origin, removed])


def _mapping_key(mapping: dict, written: Any) -> Any:
    """The key of `mapping` that `written` names, spaces around it aside (a table's 年级 1 is named
    by the 1 or "1" a remove: list holds), or None."""
    wanted = str(written).strip()
    return next((k for k in mapping if str(k).strip() == wanted), None)


def _remove_keys(
    doc: SourceDocument, key: str, names: list[Any], mapping: dict, node: _Node, path: PathKey, sink: DiagnosticSink
) -> bool:
    """`remove: {fields.school.known.aliases: [中阳二中]}` or `remove: {tables.tuition_fee.rows.普通高中:
    [中阳县第二中学]}`: keys of a mapping inside an item (short forms, a table's rows) dropped by name,
    the rest kept. Only mappings of names the policy editor chose: an item's own keys (label, amount,
    …) are changed through override:. False (after the error) when nothing may be removed here."""
    if path[-1] not in ("aliases", "rows") and not (len(path) > 1 and "rows" in path[:-1]):
        sink.error(
            doc.locate(("remove", key)),
            f"「{key}」不是列表、简称或表格的一层，不能用 remove: 删除其中的项",
            "要改项目本身的写法（如 label、amount），请写在 override: 下",
            code="not-an-id-list",
        )
        return False
    found = []
    for index, name in enumerate(names):
        present = _mapping_key(mapping, name)
        if present is None:
            sink.error(
                doc.locate(("remove", key, index)),
                f"「{key}」中没有「{name}」",
                suggest(str(name), [str(k) for k in mapping]) or "现有：" + "、".join(map(str, mapping)),
                code="unknown-name",
            )
        else:
            found.append(present)
    for present in found:
        mapping.pop(present, None)
        k = len(path) + 1
        for table in (node.positions, node.scalars):
            for p in [p for p in table if p[:k] == (*path, present)]:
                del table[p]
    return True


def effective_document(assembly: Assembly) -> tuple[SourceDocument, dict[tuple[str, str], list[str]]]:
    """One document holding the merged policy; every node keeps its own file and line."""
    doc = SourceDocument(f"{assembly.folder}（合并后）", "", None)
    data: dict[str, Any] = {"policy": assembly.manifest.data}
    _place(doc, ("policy",), assembly.manifest)
    provenance: dict[tuple[str, str], list[str]] = {}
    for section, entries in assembly.items.items():
        if not entries:
            continue
        data[section] = []
        for index, (item_id, entry) in enumerate(entries.items()):
            data[section].append(entry.node.data)
            _place(doc, (section, index), entry.node)
            provenance[(section, item_id)] = entry.origin
    doc.data = data
    return doc, provenance


def _place(doc: SourceDocument, prefix: PathKey, node: _Node) -> None:
    prefix = tuple(prefix)  # (`prefix + p`: tuples joined directly, for every node of the policy)
    doc.positions.update({prefix + p: loc for p, loc in node.positions.items()})
    doc.scalar_starts.update({prefix + p: s for p, s in node.scalars.items()})


# -- choosing the version in force ------------------------------------------------------


def version_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / "policy.yaml").is_file())


def is_version_root(folder: Path) -> bool:
    """A folder of policy versions (policies/) rather than one policy (policies/2021)."""
    return not (folder / "policy.yaml").is_file() and bool(version_folders(folder))


def pick_version(root: Path, period: Period, effective_of, warn=None) -> Path:
    """The version in force for `period`: of those whose effective periods cover it, the one that
    took effect last. `effective_of(folder)` gives a version's (from, until), or raises PolicyError.

    A sibling whose effective periods cannot be read cannot be in force for any semester: it is
    named through `warn(message)` and skipped. Two versions covering `period` that took effect in
    the same semester (a copied draft) are an error naming both: folder order must not decide."""
    candidates: list[tuple[Period, Path]] = []
    described = []
    for folder in version_folders(root):
        try:
            start, end = effective_of(folder)
        except PolicyError as exc:
            if warn is not None:
                reason = "；".join(f"{d.location}: {d.message}" if d.location else d.message for d in exc.diagnostics)
                warn(f"警告：跳过版本文件夹 {display_path(folder)}：{reason}（它不能适用于任何学期，请修正或移出）")
            continue
        described.append(f"{folder.name}（{start} 起" + (f"，至 {end}）" if end else "）"))
        if start.key <= period.key and (end is None or period.key <= end.key):
            candidates.append((start, folder))
    if not candidates:
        raise PolicyError(
            [
                Diagnostic(
                    Location(str(root)),
                    f"没有适用于 {period} 的政策版本",
                    "现有版本：" + "；".join(described),
                    code="no-version",
                )
            ]
        )
    latest = max(start.key for start, _ in candidates)
    chosen = [(start, folder) for start, folder in candidates if start.key == latest]
    if len(chosen) > 1:
        names = "、".join(display_path(folder) for _, folder in chosen)
        message = f"{names} 都从 {chosen[0][0]} 起生效，都适用于 {period}：无法确定用哪一个"
        hint = "同一学期起生效的版本只能有一个；草稿请改 effective.from 或移出版本文件夹"
        raise PolicyError([Diagnostic(Location(str(root)), message, hint)])
    return chosen[0][1]


def newer_versions(folder: Path, period: Period, effective_of, ancestors_of) -> list[Path]:
    """Sibling versions that extend `folder` and also govern `period`, taking effect later:
    using `folder` for that semester would use figures they replace."""
    folder = folder.resolve()
    start, _ = effective_of(folder)
    found = []
    for other in version_folders(folder.parent):
        if other.resolve() == folder or folder not in ancestors_of(other):
            continue
        try:
            other_start, other_end = effective_of(other)
        except PolicyError:
            continue  # a broken sibling governs no semester; choosing from the folder of versions names it

        covers = other_start.key <= period.key and (other_end is None or period.key <= other_end.key)
        if covers and other_start.key > start.key:
            found.append(other)
    return found
