from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.language import syntax as s
from engine.language.parse import ExpressionSyntaxError, parse


def test_precedence_and_binds_tighter_than_or():
    tree = parse("a or b and c")
    assert tree == s.BoolOp("or", (s.Name(("a",)), s.BoolOp("and", (s.Name(("b",)), s.Name(("c",))))))


def test_literals_keep_exact_values():
    assert parse("312.5") == s.Number(Decimal("312.5"))
    assert parse("2021-09-01") == s.DateLit(date(2021, 9, 1))
    assert parse("是") == s.Bool(True)
    assert parse("“小学”") == s.String("小学")


def test_chinese_identifiers_and_keywords_inside_names():
    assert parse("是否住宿") == s.Name(("是否住宿",))
    assert parse("andy or x") == s.BoolOp("or", (s.Name(("andy",)), s.Name(("x",))))


def test_excel_style_equality_is_normalised():
    assert parse('学段 = "小学"') == parse('学段 == "小学"')
    assert parse("a <> 1") == parse("a != 1")


def test_table_lookup_call_and_in():
    assert parse("书本费标准[学段, 年级]") == s.Lookup(s.Name(("书本费标准",)), (s.Name(("学段",)), s.Name(("年级",))))
    assert parse("x not in [1, 2]") == s.In(s.Name(("x",)), s.ListLit((s.Number(1), s.Number(2))), negated=True)
    assert parse("min(a, 2)") == s.Call("min", (s.Name(("a",)), s.Number(2)))


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("a ==", 1, 5, "没有写完"),
        ("学段 == （小学）", 1, 7, "半角"),
        ("a b", 1, 3, "不应出现「b」"),
        ("(a and b", 1, 9, "没有写完"),
    ],
)
def test_syntax_errors_say_where_and_what(text, line, column, words):
    with pytest.raises(ExpressionSyntaxError) as info:
        parse(text)
    assert (info.value.line, info.value.column) == (line, column)
    assert words in info.value.message


# -- properties ---------------------------------------------------------------

names = st.sampled_from(["学段", "年级", "a", "b_2", "校内住宿"]).map(lambda n: s.Name((n,)))
atoms = st.one_of(
    names,
    st.integers(0, 10**6).map(s.Number),
    st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False).map(s.Number),
    st.sampled_from(["小学", "初中", "x y"]).map(s.String),
    st.booleans().map(s.Bool),
    st.dates(date(1990, 1, 1), date(2030, 12, 31)).map(s.DateLit),
)


def _trees(children):
    two = st.tuples(children, children)
    return st.one_of(
        st.builds(lambda x: s.Unary("not", x), children),
        st.builds(lambda x: s.Unary("-", x), children),
        st.builds(lambda op, ab: s.Binary(op, *ab), st.sampled_from(["+", "-", "*", "/", "==", "<", ">="]), two),
        st.builds(
            lambda op, xs: s.BoolOp(op, tuple(xs)),
            st.sampled_from(["and", "or"]),
            st.lists(children, min_size=2, max_size=3),
        ),
        st.builds(lambda x, xs: s.In(x, s.ListLit(tuple(xs))), children, st.lists(atoms, max_size=3)),
        st.builds(lambda c, t, o: s.If(c, t, o), children, children, children),
        st.builds(lambda xs: s.Call("max", tuple(xs)), st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda k: s.Lookup(s.Name(("表",)), (k,)), children),
    )


trees = st.recursive(atoms, _trees, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(trees)
def test_printing_a_parsed_tree_and_parsing_it_again_gives_the_same_tree(tree):
    parsed = parse(s.to_text(tree))
    assert parse(s.to_text(parsed)) == parsed


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_random_text_never_crashes_the_parser(text):
    try:
        parse(text)
    except ExpressionSyntaxError as err:
        assert err.line >= 1 and err.column >= 1 and err.message


@pytest.mark.parametrize(
    ("text", "code", "column"),
    [
        ("not " * 200 + "是", "too-deep", 4 * 32 + 1),  # the 33rd `not` starts at column 129
        ("-" * 200 + "1", "too-deep", 33),  # the 33rd minus sign
        ("min(" * 200 + "1" + ", 2)" * 200, "too-deep", 4 * 32 + 1),  # the 33rd `min(`
        (" or ".join(["是"] * 100_000), "too-long", 1),
    ],
)
def test_hostile_nesting_and_length_are_refused_at_their_place(text, code, column):
    with pytest.raises(ExpressionSyntaxError) as info:
        parse(text)
    assert (info.value.code, info.value.line, info.value.column) == (code, 1, column)


def test_a_long_flat_chain_is_one_level_not_a_recursion():
    # 1,500 terms joined by `and`: a left-deep parse tree, but one level of nesting for a reader.
    tree = parse(" and ".join(["是"] * 1500))
    assert isinstance(tree, s.BoolOp) and len(tree.operands) == 1500
    # 32 levels is the limit, and allowed.
    assert isinstance(parse("not " * 32 + "是"), s.Unary)
