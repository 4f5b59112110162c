"""Generate the synthetic student file shipped in examples/ (seeded, reproducible).

    python examples/generate.py            # writes students-2021.csv and .xlsx beside this file

Every student is invented: Chinese names from common characters, resident IDs
with Zhongyang's area code 141129, the birth date inside the ID and a correct
GB 11643 check digit. The mix spreads over every program, exclusion, widening
rule and roster check of policies/2021, with a realistic share who get nothing, and a tenth of
the rows carry an edge case or a contradiction (EDGE_CASES) — a few of them a blank 年级, so the
file has rows with problems, as real rosters do.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from engine.check.idcard import check_digit

HEADERS = [
    "身份证号",
    "姓名",
    "出生日期",
    "本县户籍",
    "家庭类型",
    "家庭经济困难",
    "孤儿",
    "残疾",
    "烈士子女",
    "残疾人子女",
    "学段",
    "年级",
    "学校",
    "县内学校",
    "民办",
    "有学籍",
    "就读方式",
    "残疾安置",
    "校内住宿",
    "已申请",
    "外地就读未享受资助",
    "已交情况说明",
    "复读",
    "本县高中毕业",
    "录取方式",
    "全日制",
    "当年新生",
    "省内院校",
    "申请贷款金额",
    "学习困难",
    "厌学",
    "乡镇",
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁宋谢韩冯任薛贺白乔郝武温"
GIVEN = "子涵浩宇欣怡梓轩一诺雨泽佳琪思远俊杰晓燕建军志强丽娜文博嘉怡明轩婉婷天佑静怡春花秋菊晨阳鹏飞"
TOWNSHIPS = ["宁乡镇", "枝柯镇", "武家庄镇", "金罗镇", "暖泉镇", "下枣林乡", "车鸣峪乡"]
# Age in full years at 2021-09-01 of a student in grade 1 of each stage.
FIRST_GRADE_AGE = {"学前": 3, "小学": 6, "初中": 12, "普通高中": 15, "中职": 15, "专科": 18, "本科": 18, "研究生": 22}
GRADES = {"学前": 3, "小学": 6, "初中": 3, "普通高中": 3, "中职": 3, "专科": 3, "本科": 4, "研究生": 3}
SPECIAL_HOUSEHOLDS = ["边缘易致贫户", "突发严重困难户", "低保家庭", "特困供养"]

# (profile, weight): who the student is; the profile function fills the facts.
PROFILES = [
    ("ordinary", 30),
    ("core_compulsory", 22),
    ("core_preschool", 5),
    ("core_senior", 10),
    ("special", 8),
    ("widened_no_xueji", 3),
    ("widened_outside", 4),
    ("home_or_health", 4),
    ("college", 9),
    ("not_enrolled", 3),
    ("disabled_child", 2),
]


# Edge cases and contradictions a real roster has (issue 10), laid over a share of the students
# with a second random stream so the students drawn by the first stay as they were.
EDGE_SHARE = 0.1
EDGE_CASES = [
    "repeat_flag",  # 复读 on any stage: a contradiction unless 普通高中 (W2a), never widens anything
    "not_enrolled_placed",  # 未入学 while 残疾安置 says the child is placed (D2)
    "placement_not_disabled",  # 残疾安置 given while 残疾 is 否
    "grade_beyond_stage",  # 初中 written 七–九年级, 小学 七年级 …
    "boarding_not_enrolled",  # 校内住宿 while 未入学
    "health_no_xueji",  # 因病不具备学习条件 without 学籍 (W1a: not paid)
    "home_no_xueji",  # 送教上门 without 学籍 (paid through W1, to be 纳入学籍管理)
    "blank_grade",  # 年级 left blank: a row with problems, not a silent under-award
]


class Generator:
    def __init__(self, seed: int = 2021) -> None:
        self.rng = random.Random(seed)
        self.edge_rng = random.Random(seed * 7919 + 1)
        # Which county senior high school (one has its own fee row, the other takes the table's
        # 其他学校 row): a third stream, so the students the others draw stay as they were.
        self.school_rng = random.Random(seed * 104_729 + 3)
        self.used_ids: set[str] = set()

    def edge_case(self, s: dict[str, object]) -> None:
        """Turn a drawn student into one of EDGE_CASES (birth date and ID stay as drawn)."""
        r = self.edge_rng
        kind = r.choice(EDGE_CASES)
        stage = s["学段"]
        if not stage and kind in ("repeat_flag", "health_no_xueji", "home_no_xueji"):
            kind = "not_enrolled_placed"  # a child with no 学段 is not in school: keep it so
        if kind == "repeat_flag":
            s["复读"] = "是"
        elif kind == "not_enrolled_placed":
            s["就读方式"] = "未入学"
            s["残疾"] = "是"
            s["残疾安置"] = r.choice(["送教上门", "随班就读", "特教学校"])
        elif kind == "placement_not_disabled":
            s["残疾"] = "否"
            s["残疾安置"] = r.choice(["随班就读", "特教学校"])
        elif kind == "grade_beyond_stage" and stage in ("小学", "初中"):
            # Where no fee depends on it: a 高中职 grade outside the book-fee table is a problem row.
            s["年级"] = 7 if stage == "小学" else r.choice([4, 7, 8, 9])
        elif kind == "boarding_not_enrolled":
            s["就读方式"] = "未入学"
            s["校内住宿"] = "是"
        elif kind == "health_no_xueji":
            s["就读方式"] = "因病不具备学习条件"
            s["有学籍"] = "否"
        elif kind == "home_no_xueji":
            s["就读方式"] = "送教上门"
            s["有学籍"] = "否"
            s["残疾"] = "是"
        elif kind == "blank_grade" and stage not in ("", "学前"):
            s["年级"] = ""

    def birth_for(self, stage: str, grade: int) -> dt.date:
        age = FIRST_GRADE_AGE[stage] + grade - 1
        start = dt.date(2021 - age - 1, 9, 2)  # age full years on 2021-09-01 (born 09-02 .. next 09-01)
        return start + dt.timedelta(days=self.rng.randrange(365))

    def id_number(self, birth: dt.date) -> str:
        while True:
            first17 = f"141129{birth:%Y%m%d}{self.rng.randrange(1000):03d}"
            number = first17 + check_digit(first17)
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number

    def name(self) -> str:
        given = "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2))))
        return self.rng.choice(SURNAMES) + given

    def school(self, stage: str, township: str, in_county: bool) -> str:
        if not in_county:
            return self.rng.choice(["离石区", "孝义市", "太原市", "汾阳市"]) + {
                "学前": "幼儿园",
                "小学": "实验小学",
            }.get(stage, "中学")
        if stage == "普通高中":
            return "中阳县第二中学" if self.school_rng.random() < 0.25 else "中阳县第一中学"
        return {
            "学前": f"{township}中心幼儿园",
            "小学": f"{township}第一小学",
            "初中": f"{township}初级中学",
            "中职": "中阳县职业中学",
        }.get(stage, "")

    def student(self, profile: str) -> dict[str, object]:
        r = self.rng
        township = r.choice(TOWNSHIPS)
        s: dict[str, object] = {
            "本县户籍": "是",
            "家庭类型": "脱贫户",
            "县内学校": "是",
            "有学籍": "是",
            "就读方式": "在校",
            "乡镇": township,
        }
        stage = r.choice(["小学", "小学", "初中"])
        if profile == "ordinary":
            s["家庭类型"] = "一般家庭"
            stage = r.choice(["学前", "小学", "小学", "初中", "普通高中", "中职", "本科"])
            if r.random() < 0.15:
                s["学习困难"] = "是"
        elif profile == "core_compulsory":
            s["校内住宿"] = "是" if r.random() < 0.35 else "否"
            if r.random() < 0.12:
                s["厌学" if r.random() < 0.5 else "学习困难"] = "是"
            if r.random() < 0.05:
                s["本县户籍"] = "否"
        elif profile == "core_preschool":
            stage = "学前"
        elif profile == "core_senior":
            stage = r.choice(["普通高中", "中职"])
            s["校内住宿"] = "是" if r.random() < 0.6 else "否"
            s["民办"] = "是" if r.random() < 0.1 else "否"
        elif profile == "special":
            s["家庭类型"] = "一般家庭"
            kind = r.choice(["household", "household", "orphan", "martyr", "parent_disabled", "disabled"])
            if kind == "household":
                s["家庭类型"] = r.choice(SPECIAL_HOUSEHOLDS)
            elif kind == "orphan":
                s["孤儿"] = "是"
            elif kind == "martyr":
                s["烈士子女"] = "是"
            elif kind == "parent_disabled":
                s["残疾人子女"] = "是"
            else:
                s["残疾"] = "是"
                s["残疾安置"] = "随班就读"
                s["家庭经济困难"] = "是" if r.random() < 0.6 else "否"
            s["已申请"] = "是" if r.random() < 0.75 else "否"
            stage = r.choice(["学前", "小学", "初中", "普通高中", "中职"])
        elif profile == "widened_no_xueji":
            s["有学籍"] = "否"
            stage = r.choice(["小学", "初中", "普通高中"])
        elif profile == "widened_outside":
            s["县内学校"] = "否"
            s["有学籍"] = "否"
            s["外地就读未享受资助"] = "是"
            s["已交情况说明"] = "是" if r.random() < 0.8 else "否"
            stage = r.choice(["学前", "小学", "初中", "普通高中", "中职"])
            if stage == "普通高中" and r.random() < 0.4:
                s["复读"] = "是"
        elif profile == "home_or_health":
            s["就读方式"] = r.choice(["送教上门", "因病不具备学习条件"])
            s["残疾"] = "是"
            s["残疾安置"] = "送教上门" if s["就读方式"] == "送教上门" else "无"
            stage = "初中"
        elif profile == "college":
            stage = r.choice(["专科", "本科", "本科", "研究生"])
            s["县内学校"] = "否"
            s["全日制"] = "是"
            s["家庭类型"] = r.choice(["脱贫户", "脱贫户", "低保家庭", "一般家庭"])
            s["家庭经济困难"] = "是" if s["家庭类型"] == "一般家庭" and r.random() < 0.5 else "否"
            if r.random() < 0.6:
                s["申请贷款金额"] = r.choice([6000, 8000, 10000, 12000, 15000, 16000, 20000])
            if stage != "研究生" and r.random() < 0.5:
                s["当年新生"] = "是"
                s["本县高中毕业"] = "是"
                s["录取方式"] = "单招" if stage == "专科" else "高考"
                s["省内院校"] = "是" if r.random() < 0.6 else "否"
        elif profile == "not_enrolled":
            s["就读方式"] = "未入学"
            s["家庭类型"] = r.choice(["脱贫户", "一般家庭"])
            stage = ""
        elif profile == "disabled_child":
            s["残疾"] = "是"
            s["残疾安置"] = r.choice(["无", "特教学校", "随班就读"])
            s["家庭类型"] = r.choice(["脱贫户", "一般家庭"])
        grade = r.randrange(1, GRADES[stage or "小学"] + 1)
        birth = self.birth_for(stage or "小学", grade)
        if profile == "home_or_health" and r.random() < 0.5:
            birth = dt.date(2005, r.choice([7, 8]), r.randrange(1, 29))  # turned 16 before 2021-09-01
        s["学段"] = stage
        s["年级"] = "" if stage in ("", "学前") else grade
        s["学校"] = self.school(stage, township, s["县内学校"] == "是") if stage else ""
        s["出生日期"] = birth.isoformat()
        s["身份证号"] = self.id_number(birth)
        s["姓名"] = self.name()
        return s

    def students(self, n: int) -> list[dict[str, object]]:
        profiles = [p for p, w in PROFILES for _ in range(w)]
        out = []
        for _ in range(n):
            s = self.student(self.rng.choice(profiles))
            if self.edge_rng.random() < EDGE_SHARE:
                self.edge_case(s)
            out.append(s)
        return out


def write_csv(path: Path, rows: list[dict[str, object]]) -> None:
    # UTF-8 with a BOM: Excel on Chinese Windows then opens it without garbling.
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADERS)
        for row in rows:
            writer.writerow([row.get(h, "") for h in HEADERS])


def write_xlsx(path: Path, rows: list[dict[str, object]]) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "学生名单"
    sheet.append(HEADERS)
    for row in rows:
        values = []
        for h in HEADERS:
            value = row.get(h, "")
            if h == "出生日期":
                value = dt.date.fromisoformat(str(value))  # a real Excel date cell
            values.append(None if value == "" else value)
        sheet.append(values)
        sheet.cell(sheet.max_row, HEADERS.index("出生日期") + 1).number_format = "yyyy-mm-dd"
    # Fixed workbook times keep the file byte-for-byte reproducible.
    book.properties.created = book.properties.modified = dt.datetime(2021, 8, 10)
    book.save(path)


def main(n: int = 320) -> None:
    here = Path(__file__).resolve().parent
    rows = Generator().students(n)
    write_csv(here / "students-2021.csv", rows)
    write_xlsx(here / "students-2021.xlsx", rows)
    print(f"wrote {n} students to {here / 'students-2021.csv'} and .xlsx")


if __name__ == "__main__":
    main()
