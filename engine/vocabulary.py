"""The Chinese words people read for the engine's fixed codes — one table for each kind of code.

Every stage imports its words from here (it sits at the bottom of the flow, beside diagnostics), so a
code is spelled the same way in an error message, a report, a ledger and a workbook.
"""

from __future__ import annotations

# Sections of a policy folder (kinds of item), in the order a folder is read.
SECTION_WORDS = {
    "parameters": "参数",
    "fields": "字段",
    "tables": "表",
    "groups": "条件组",
    "programs": "资助项目",
    "checks": "核查",
    "properties": "待证性质",
}

# Semesters (Period.season): 2021-autumn is read 2021年秋季学期.
SEASON_WORDS = {"autumn": "秋季", "spring": "春季"}

# Program kinds (`kind:`) and how often a program is paid (`per:`).
PROGRAM_KIND_WORDS = {"grant": "补助", "waiver": "减免", "loan": "贷款"}
FREQUENCY_WORDS = {"semester": "每学期", "year": "每学年", "once": "一次性"}

# Value types, as a message or a form names them ("应为整数", "金额（元）").
TYPE_WORDS = {
    "bool": "是/否",
    "int": "整数",
    "decimal": "小数",
    "money": "金额",
    "date": "日期",
    "text": "文字",
    "enum": "选项",
    "list": "列表",
}

# Check categories (`category:`): what kind of follow-up a flag asks for, in report order.
CHECK_CATEGORY_WORDS = {"attendance": "控辍保学", "outreach": "跟进告知", "consistency": "数据核对"}

# The status of an input row (JSONL "status"; the 状态 column of result sheets).
ROW_STATUS_WORDS = {"evaluated": "已评估", "problem": "有问题", "rejected": "退回"}

# What a heading says of a policy version marked `illustration: true`.
ILLUSTRATION_NOTE = "示例版本，不是县里发布的文件"

# What an explanation says of a program or check.
OUTCOME_WORDS = {"awarded": "享受", "denied": "不享受", "error": "无法判定", "flagged": "需跟进", "clear": "无"}
# The role of each step of an explanation.
STEP_WORDS = {"condition": "条件", "exclusion": "排除", "relation": "互斥", "amount": "金额"}

# Reconciliation categories (不漏一生), in report order.
RECONCILE_WORDS = {
    "omitted": "漏发",
    "unentitled": "错发",
    "wrong_amount": "金额不符",
    "duplicate": "重复发放",
    "exclusive": "互斥",
    "name_mismatch": "姓名不符",
    "unknown": "未知",
}
# The columns of a reconciliation summary: 金额不符 split into 少发 and 多发, which must never net out.
RECONCILE_COLUMN_WORDS = {
    "omitted": "漏发",
    "unentitled": "错发",
    "short": "少发",
    "over": "多发",
    "duplicate": "重复发放",
    "exclusive": "互斥",
    "name_mismatch": "姓名不符",
    "unknown": "未知",
}
# Who disburses a program (`paid_by:`), when it is not the bureau's payment list: why reconcile leaves it out.
PAID_BY_WORDS = {"bank": "由银行发放，不在教育局发放名单上"}

# Movements between two semesters (follow-up), in report order.
MOVEMENT_WORDS = {
    "dropped_out": "新辍学",
    "entered_age": "新入适龄（未入学）",
    "new": "新增标记",
    "returned": "劝返复学",
    "aged_out": "超出适龄（仍未入学）",
    "resolved": "已解除",
    "still": "仍需跟进",
    "undetermined": "无法判断",
    "rejected": "被退回",
    "appeared": "本学期新出现",
    "left": "本学期不在名单",
    "started": "开始享受",
    "stopped": "停止享受",
}

# Field roles a policy may declare (`role:`): what the engine needs to know of a field without
# knowing its id. The words name the role in messages.
ROLE_WORDS = {
    "identity_number": "身份证号",
    "name": "姓名",
    "school": "学校",
    "township": "乡镇",
    "stage": "学段",
    "grade": "年级",
}

# A group with no value (a blank school, township …) in a ledger or follow-up table.
BLANK_GROUP = "（未填）"

# click's own messages (usage errors, help headings), keyed by click's English message id: the
# command line says 缺少选项 --period, not Missing option '--period'. Placeholders are click's.
CLICK_WORDS = {
    "Usage:": "用法:",
    "Options": "选项",
    "Commands": "命令",
    "Positional arguments": "参数",
    "Show this message and exit.": "显示本说明并退出。",
    "Show the version and exit.": "显示版本并退出。",
    "Try '{command} {option}' for help.": "查看说明：{command} {option}",
    "Error: {message}": "错误：{message}",
    "Aborted!": "已中止。",
    "Invalid value: {message}": "取值不对：{message}",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的取值不对：{message}",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "Missing command.": "缺少命令。",
    "No such option {name!r}.": "没有选项 {name}。",
    "No such command {name!r}.": "没有命令 {name}。",
    "Did you mean {possibility}?": "是不是要写 {possibility}？",
    "(Did you mean one of: {possibilities}?)": "（是不是要写其中之一：{possibilities}？）",
    "Got unexpected extra argument ({args})": "多写了参数（{args}）",
    "Got unexpected extra arguments ({args})": "多写了参数（{args}）",
    "Option {name!r} requires an argument.": "选项 {name} 后面要写一个值。",
    "Option {name!r} requires {nargs} arguments.": "选项 {name} 后面要写 {nargs} 个值。",
    "Option {name!r} does not take a value.": "选项 {name} 后面不写值。",
    "{name} {filename!r} does not exist.": "「{filename}」不存在。",
    "{name} {filename!r} is a directory.": "「{filename}」是文件夹，这里要的是文件。",
    "{name} {filename!r} is a file.": "「{filename}」是文件，这里要的是文件夹。",
    "{name} {filename!r} is not readable.": "「{filename}」无法读取（没有读权限）。",
    "{name} {filename!r} is not writable.": "「{filename}」无法写入（没有写权限）。",
    "{name} {filename!r} is not executable.": "「{filename}」不可执行。",
    "Could not open file {filename!r}: {message}": "无法打开文件「{filename}」：{message}",
    "unknown error": "未知错误",
    "{value!r} is not one of {choices}.": "「{value}」不是可选的值；可选：{choices}。",
    "{value!r} is not {choice}.": "「{value}」不对；只能是 {choice}。",
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
    "{value!r} is not a valid {number_type}.": "「{value}」不是有效的数。",
    "{value} is not in the range {range}.": "{value} 不在允许的范围 {range} 内。",
    "{value!r} is not a valid boolean. Recognized values: {states}": "「{value}」不是 是/否；可写：{states}",
    "default: {default}": "默认：{default}",
    "required": "必填",
    "env var: {var}": "环境变量：{var}",
    "Takes {nargs} values but 1 was given.": "要 {nargs} 个值，只写了 1 个。",
    "Takes {nargs} values but {len} were given.": "要 {nargs} 个值，写了 {len} 个。",
}
