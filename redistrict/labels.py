"""Every word a person reads on a map, report, chart or comparison page, in Chinese and English.

One table, :data:`WORDS`, keyed by language and then by the surface that shows the words
(``map``, ``report``, ``status``, ``compare``, ``chart``, ``columns``).  Modules take their
section with :func:`section`; data text (block and community names) never comes from here.
"""

from __future__ import annotations

LANGS = ("zh", "en")

_MAP_ZH = {
    "units": "新社区单元", "blocks": "小区", "labels": "单元标注", "current": "现状社区边界",
    "offices": "办公用房", "barriers": "河流等障碍", "unit": "新单元", "block": "小区",
    "households": "户数", "hh": "户", "population": "人口", "area": "面积", "km2": "平方公里",
    "office": "办公用房", "floor_area": "面积", "m2": "平方米", "mean_dist": "至办公用房平均距离",
    "max_dist": "至办公用房最远距离", "mean_dist_centre": "至中心小区平均距离",
    "max_dist_centre": "至中心小区最远距离", "m": "米", "bounds": "户数范围",
    "within": "在范围内", "outside": "超出范围", "by": "相差", "community": "现状社区",
    "blocks_n": "小区数", "moved_in": "迁入户数", "office_in_use": "在用办公用房",
    "office_candidate": "候选办公用房", "office_small": "面积不足", "used_by": "用于",
    "not_used": "未选用", "status": "求解状态", "none": "无", "subdistrict": "街道",
    "units_n": "个单元", "title_sep": "：", "plan": "方案", "id": "编号", "name": "名称",
    "gap": "与下界差距",
    "invalid": "方案未通过校验", "problems": "校验问题", "v_detached": "与本单元主体不相连的小区",
    "v_bounds": "户数超出范围的单元", "v_unassigned": "未划入任何单元的小区",
    "v_no_office": "没有办公用房的单元", "v_other": "其他问题",
    "moved": "两方案间换了单元的小区", "moved_n": "个小区换了单元", "was_in": "原属",
    "many_colours": "{k:,} 个单元，{colours} 种颜色（相邻单元颜色不同）", "below": "低于下限", "above": "高于上限",
    "labels_off": "单元标注图层默认关闭，可在图层控制中打开", "labels_outside": "标注：超出范围的单元",
}

_MAP_EN = {
    "units": "New units", "blocks": "Blocks", "labels": "Unit labels", "current": "Current communities",
    "offices": "Office sites", "barriers": "Barriers (river)", "unit": "New unit", "block": "Block",
    "households": "Households", "hh": "hh", "population": "Population", "area": "Area", "km2": "km²",
    "office": "Office", "floor_area": "Floor area", "m2": "m²", "mean_dist": "Mean distance to office",
    "max_dist": "Max distance to office", "mean_dist_centre": "Mean distance to centre block",
    "max_dist_centre": "Max distance to centre block", "m": "m", "bounds": "Bounds",
    "within": "within bounds", "outside": "outside bounds", "by": "by", "community": "Current community",
    "blocks_n": "Blocks", "moved_in": "Households moved in", "office_in_use": "Office in use",
    "office_candidate": "Candidate site", "office_small": "too small", "used_by": "used by",
    "not_used": "not chosen", "status": "Status", "none": "none", "subdistrict": "Subdistrict",
    "units_n": "units", "title_sep": ": ", "plan": "Plan", "id": "Id", "name": "Name",
    "gap": "gap",
    "invalid": "the plan fails verification", "problems": "Problems found",
    "v_detached": "Blocks cut off from the rest of their unit", "v_bounds": "Units outside the household bounds",
    "v_unassigned": "Blocks in no unit", "v_no_office": "Units without an office", "v_other": "Other problems",
    "moved": "Blocks whose unit differs between the plans", "moved_n": "blocks changed unit", "was_in": "was in",
    "many_colours": "{k:,} units in {colours} colours (neighbours differ)", "below": "below the minimum", "above": "above the maximum",
    "labels_off": "the unit labels layer is off; switch it on in the layer control", "labels_outside": "labelled: units outside the bounds",
}

_REPORT_ZH = {
    "title": "社区划分方案", "sep": "：", "bounds": "户数范围", "units_k": "单元数", "moved": "迁入户数合计",
    "solver": "求解", "funding": "社区居委会年度经费（安徽 2007 年标准）", "per_unit": "各单元",
    "unit": "单元", "name": "名称", "households": "户数", "population": "人口", "blocks": "小区数",
    "area": "面积（km²）", "office": "办公用房", "mean": "平均距离（m）", "max": "最远距离（m）",
    "pp": "Polsby-Popper", "reock": "Reock", "moved_in": "迁入户数", "status": "范围", "total": "合计",
    "ok": "✓", "map": "方案图", "seconds": "秒", "hh": "户", "none": "—",
    "new": "新方案", "current": "现状", "communities": "个社区", "units": "个单元", "change": "变化",
    "interactive": "交互地图", "centre": "（无办公用房选址：距离按中心小区计算）",
    "pieces": "分片求解（各片互不相连，分别求解）",
    "piece_head": ("分片", "小区数", "户数", "单元数", "方法", "状态", "目标值", "下界", "gap", "秒"),
    "chart": "各单元户数", "chart_band": "户数范围 {lower:,}–{upper:,}", "chart_within": "在范围内",
    "chart_below": "低于下限", "chart_above": "高于上限",
    "hist_units": "单元数", "hist_outside": "{n:,} 个单元超出范围：", "hist_more": "…… 另有 {n:,} 个", "hist_none": "全部单元在范围内",
    "note": (
        "注：距离为各小区中心至本单元办公用房的直线距离，平均值按户数加权。紧凑度按合并后的单元计算"
        "（先弥合 {closing:.0f} 米以内的道路间隙）：Polsby-Popper = 4πA/P²，Reock = A / 最小外接圆面积，"
        "1 为最紧凑。经费按安徽省 2007 年标准：不足 {threshold:,} 户的社区每年不少于 {small:,} 元，"
        "{threshold:,} 户及以上不少于 {large:,} 元。"
    ),
}

_REPORT_EN = {
    "title": "Community plan", "sep": ": ", "bounds": "Bounds", "units_k": "Units", "moved": "Households moved in (total)",
    "solver": "Solver", "funding": "Yearly committee funding (Anhui 2007 rule)", "per_unit": "Units",
    "unit": "Unit", "name": "Name", "households": "Households", "population": "Population", "blocks": "Blocks",
    "area": "Area (km²)", "office": "Office", "mean": "Mean dist. (m)", "max": "Max dist. (m)",
    "pp": "Polsby-Popper", "reock": "Reock", "moved_in": "Moved in", "status": "Bounds", "total": "Total",
    "ok": "✓", "map": "Plan map", "seconds": "s", "hh": "households", "none": "—",
    "new": "new plan", "current": "current", "communities": "communities", "units": "units", "change": "change",
    "interactive": "interactive map", "centre": " (no office sites: distances to the centre block)",
    "pieces": "Pieces (separate parts of the graph, solved independently)",
    "piece_head": ("Piece", "Blocks", "Households", "Units", "Method", "Status", "Objective", "Bound", "Gap", "s"),
    "chart": "Households per unit", "chart_band": "bounds {lower:,}–{upper:,}", "chart_within": "within the bounds",
    "chart_below": "below the minimum", "chart_above": "above the maximum",
    "hist_units": "Units", "hist_outside": "{n:,} units outside the bounds:", "hist_more": "… and {n:,} more", "hist_none": "every unit within the bounds",
    "note": (
        "Distances are straight lines from each block's centre to the unit's office, the mean weighted by "
        "households. Compactness is measured on the merged unit (road gaps up to {closing:.0f} m closed): "
        "Polsby-Popper = 4πA/P², Reock = A / area of the smallest enclosing circle; 1 is most compact. "
        "Funding by the Anhui 2007 rule: a community below {threshold:,} households gets at least ¥{small:,} "
        "a year, one of {threshold:,} or more at least ¥{large:,}."
    ),
}

_STATUS_ZH = {
    "optimal": "最优解", "feasible": "可行解，未证明最优", "timed_out": "达到时间上限，可行解未证明最优",
    "relaxed": "放宽户数范围后的解", "relaxed_unproved": "放宽户数范围后的解，超出量未证明最小", "heuristic": "启发式可行解，未证明最优", "invalid": "未通过校验",
    "infeasible": "无可行方案", "no_solution": "未找到方案", "error": "无法运行",
}

_STATUS_EN = {
    "optimal": "optimal", "feasible": "feasible, not proved optimal", "timed_out": "time limit reached, not proved optimal",
    "relaxed": "bounds relaxed", "relaxed_unproved": "bounds relaxed, violation not proved minimal", "heuristic": "heuristic plan, not proved optimal", "invalid": "fails verification",
    "infeasible": "infeasible", "no_solution": "no plan found", "error": "could not run",
}

_COMPARE_ZH = {
    "title": "方案比较", "figures": "主要指标", "figure": "指标", "units": "单元数", "range": "户数（最小–最大）",
    "out_of_bounds": "超出户数范围的单元", "compactness": "平均紧凑度（Polsby-Popper）",
    "households_moved": "迁入其他社区的户数", "funding": "年度经费（安徽 2007 年标准）", "status": "求解状态",
    "gap": "与下界差距", "between": "两方案之间换了单元", "blocks_moved": "{blocks:,} 个小区，{households:,} 户",
    "matched": "单元按户数重叠配对，配对的单元同色", "pairs": "单元配对", "share": "共同户数",
    "unmatched": "无对应单元",
}

_COMPARE_EN = {
    "title": "Plan comparison", "figures": "Key figures", "figure": "Figure", "units": "Units", "range": "Households (min–max)",
    "out_of_bounds": "Units outside the bounds", "compactness": "Mean compactness (Polsby-Popper)",
    "households_moved": "Households moved to another community's unit", "funding": "Yearly funding (Anhui 2007 rule)",
    "status": "Status", "gap": "Gap to the bound", "between": "Changed unit between the plans",
    "blocks_moved": "{blocks:,} blocks, {households:,} households",
    "matched": "Units are paired by shared households; paired units have the same colour", "pairs": "Unit pairs",
    "share": "Shared households", "unmatched": "no counterpart",
}

_CHART_ZH = {
    "title": "各方案单元户数（虚线：户数范围；红点：超出范围）", "ylabel": "单元户数", "scenario": "方案",
    "page_title": "方案比较", "scenarios": "个方案", "ran_on": "运行于", "in": "用时", "seconds": "秒",
    "sizes": "各单元户数", "links": "各方案", "columns": "各列含义",
    "map": "地图", "report": "报告", "diagnosis": "诊断", "error_file": "错误",
}

_CHART_EN = {
    "title": "Unit sizes by scenario (dashed: bounds; red: outside them)", "ylabel": "households per unit",
    "scenario": "scenario", "page_title": "Scenario comparison", "scenarios": "scenario(s)", "ran_on": "run on",
    "in": "in", "seconds": "s", "sizes": "Households per unit", "links": "Scenarios", "columns": "Columns",
    "map": "map", "report": "report", "diagnosis": "diagnosis", "error_file": "error",
}

_COLUMNS_ZH = {
    "scenario": "方案", "status": "状态", "units": "单元数", "households_min": "最小单元户数",
    "households_max": "最大单元户数", "spread": "户数极差", "out_of_bounds": "超出范围的单元",
    "max_violation": "最大超出户数", "mean_polsby_popper": "平均紧凑度", "boundary_km": "单元间边界（km）",
    "households_moved": "迁入其他社区的户数", "mean_distance_m": "至办公用房平均距离（m）",
    "max_distance_m": "至办公用房最远距离（m）", "funding_yuan": "年度经费（元）", "gap": "与下界差距",
    "seconds": "用时（秒）", "lower": "户数下限", "upper": "户数上限", "message": "说明",
    "unit_id": "单元编号", "name": "名称", "households": "户数", "blocks": "小区数", "office_name": "办公用房",
    "within_bounds": "在范围内", "yes": "是", "no": "否",
}

_COLUMNS_EN = {
    "scenario": "scenario", "status": "status", "units": "units", "households_min": "smallest unit",
    "households_max": "largest unit", "spread": "spread", "out_of_bounds": "units out of bounds",
    "max_violation": "largest violation", "mean_polsby_popper": "mean Polsby-Popper", "boundary_km": "boundary (km)",
    "households_moved": "households moved", "mean_distance_m": "mean distance to office (m)",
    "max_distance_m": "max distance to office (m)", "funding_yuan": "yearly funding (yuan)", "gap": "gap",
    "seconds": "seconds", "lower": "lower bound", "upper": "upper bound", "message": "message",
    "unit_id": "unit", "name": "name", "households": "households", "blocks": "blocks", "office_name": "office",
    "within_bounds": "within bounds", "yes": "yes", "no": "no",
}

#: language → surface → key → words
WORDS: dict[str, dict[str, dict]] = {
    "zh": {"map": _MAP_ZH, "report": _REPORT_ZH, "status": _STATUS_ZH, "compare": _COMPARE_ZH, "chart": _CHART_ZH, "columns": _COLUMNS_ZH},
    "en": {"map": _MAP_EN, "report": _REPORT_EN, "status": _STATUS_EN, "compare": _COMPARE_EN, "chart": _CHART_EN, "columns": _COLUMNS_EN},
}


def section(name: str) -> dict[str, dict]:
    """One surface's words for every language: ``{"zh": {...}, "en": {...}}``."""
    return {lang: WORDS[lang][name] for lang in LANGS}


def words(lang: str, name: str) -> dict:
    """One surface's words in ``lang`` (a ``ValueError`` names the languages for any other)."""
    if lang not in WORDS:
        raise ValueError(f"The language must be one of {', '.join(LANGS)}, not '{lang}'.")
    return WORDS[lang][name]


def status_word(lang: str, status: str) -> str:
    """A plan status (``optimal``, ``timed_out``, …) as a person reads it in ``lang``."""
    return words(lang, "status").get(status, status)


__all__ = ["LANGS", "WORDS", "section", "status_word", "words"]
