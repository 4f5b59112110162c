"""Field roles: what the engine must know of a field (the student's ID number, name, school …)
without knowing the policy's ids for them.

A policy says ``role: identity_number`` on its ID field, ``role: school`` on its school field …;
the readers, writers and tools ask the checked policy for the field of a role. A county whose
fields are ``sfzh``, ``xm`` and ``xx`` works unchanged.
"""

from __future__ import annotations

from engine.diagnostics import Diagnostic
from engine.policy import model as m
from engine.vocabulary import ROLE_WORDS, TYPE_WORDS

# The value type a role's field must have, where the engine relies on one.
_ROLE_TYPES = {"identity_number": "text", "name": "text", "grade": "int"}


def field_roles(policy: m.Policy) -> tuple[dict[str, str], list[Diagnostic]]:
    """role → field id, and a located error for each role declared twice or on a field of the wrong type."""
    roles: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for f in policy.fields.values():
        if f.role is None:
            continue
        word = ROLE_WORDS[f.role]
        other = roles.get(f.role)
        if other is not None:
            first = policy.fields[other]
            problems.append(
                Diagnostic(
                    f.location,
                    f"字段「{f.label}」与 {first.location} 的「{first.label}」都声明为{word}（role: {f.role}）",
                    "每种角色至多一个字段；请删去其中一个的 role",
                    code="duplicate-role",
                )
            )
            continue
        wanted = _ROLE_TYPES.get(f.role)
        if wanted is not None and f.type != wanted:
            problems.append(
                Diagnostic(
                    f.location,
                    f"{word}字段「{f.label}」应为{TYPE_WORDS[wanted]}（type: {wanted}），实际是{TYPE_WORDS[f.type]}",
                    code="role-type",
                )
            )
            continue
        roles[f.role] = f.id
    return roles, problems
