"""A published release as a Frictionless Data Package (https://specs.frictionlessdata.io/).

``data_package(snapshot)`` turns the immutable snapshot of a release into ``datapackage.json``
(Table Schema for every file, licence, sources, methodology version) and one CSV file per table.
Every number comes from the snapshot; nothing is recomputed. The bytes are deterministic: the same
snapshot gives the same files (golden tests pin them).

The CSV files are UTF-8 with a byte-order mark and CRLF line ends, so that Excel opens them with
the Vietnamese letters intact; the numbers use a decimal point (machine-readable) and suppressed
cells are empty with ``suppressed`` = ``true``. Row ids are stable across the versions of a
release series: ``<series>:<questionnaire>:<unit>:<service or "all">``.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Snapshot = Mapping[str, Any]
Row = dict[str, Any]

LICENSES: dict[str, dict[str, str]] = {
    "CC-BY-4.0": {"name": "CC-BY-4.0", "title": "Creative Commons Attribution 4.0",
                  "path": "https://creativecommons.org/licenses/by/4.0/"},
    "CC0-1.0": {"name": "CC0-1.0", "title": "CC0 1.0 Public Domain Dedication",
                "path": "https://creativecommons.org/publicdomain/zero/1.0/"},
    "ODC-BY-1.0": {"name": "ODC-BY-1.0", "title": "Open Data Commons Attribution License 1.0",
                   "path": "https://opendatacommons.org/licenses/by/1-0/"},
}
ALL_SERVICES = "all"


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # Table Schema type: string, integer, number, boolean, date
    title: str  # Vietnamese
    description: str  # English
    required: bool = False
    enum: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def descriptor(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "title": self.title,
                               "description": self.description}
        constraints: dict[str, Any] = {}
        if self.required:
            constraints["required"] = True
        if self.enum:
            constraints["enum"] = list(self.enum)
        if self.minimum is not None:
            constraints["minimum"] = self.minimum
        if self.maximum is not None:
            constraints["maximum"] = self.maximum
        if constraints:
            out["constraints"] = constraints
        if self.type == "boolean":
            out["trueValues"], out["falseValues"] = ["true"], ["false"]
        return out


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    description: str
    fields: tuple[Field, ...]
    rows: Callable[[Snapshot], Iterable[Row]]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[tuple[str, str, str], ...] = ()  # (field, resource, field)

    @property
    def path(self) -> str:
        return f"data/{self.name}.csv"


def _share(name: str, title: str, description: str) -> Field:
    return Field(name, "number", title, description, minimum=0, maximum=1)


def _index_id(snapshot: Snapshot, questionnaire: str, unit: str, service: str | None) -> str:
    return f"{snapshot['release']['series']}:{questionnaire}:{unit}:{service or ALL_SERVICES}"


def index_id(snapshot: Snapshot, index: Mapping[str, Any]) -> str:
    """The stable id of an index (a unit × service × questionnaire) across a series' versions."""
    return _index_id(snapshot, index["questionnaire"], index["unit"], index["service"])


def _get(mapping: Mapping[str, Any] | None, key: str) -> Any:
    return None if mapping is None else mapping.get(key)


def _unit_rows(snapshot: Snapshot) -> Iterator[Row]:
    for unit in snapshot["units"]:
        yield {"code": unit["code"], "name": unit["name"], "kind": unit["kind"], "parent": unit.get("parent")}


def _service_rows(snapshot: Snapshot) -> Iterator[Row]:
    for service in snapshot["services"]:
        yield {"code": service["code"], "name_vi": service["name_vi"], "name_en": service["name_en"]}


def _index_rows(snapshot: Snapshot) -> Iterator[Row]:
    for index in snapshot["indices"]:
        overall, par, change, target = index["overall"], index.get("par_points"), index.get("change"), index.get("target")
        hidden = bool(index["suppressed"])
        yield {
            "id": index_id(snapshot, index), "questionnaire": index["questionnaire"], "unit": index["unit"],
            "service": index["service"], "n": index["n"], "n_eff": None if hidden else index.get("n_eff"),
            "suppressed": hidden,
            "estimate": _get(overall, "estimate"), "se": _get(overall, "se"),
            "ci_low": _get(overall, "ci_low"), "ci_high": _get(overall, "ci_high"),
            "par_points": _get(par, "estimate"), "par_points_ci_low": _get(par, "ci_low"),
            "par_points_ci_high": _get(par, "ci_high"),
            "previous_period": _get(change, "previous_period"), "change": _get(change, "delta"),
            "change_se": _get(change, "se"), "change_significant": _get(change, "significant"),
            "target_year": _get(target, "year"), "target": _get(target, "value"),
            "target_gap": _get(target, "gap"), "target_reached": _get(target, "reached"),
        }


def _element_rows(snapshot: Snapshot) -> Iterator[Row]:
    for index in snapshot["indices"]:
        for element in index.get("elements") or ():
            yield {"index_id": index_id(snapshot, index), "element": element["key"],
                   "label_vi": element["label_vi"], "label_en": element["label_en"],
                   "n": element.get("n"), "suppressed": bool(index["suppressed"]),
                   "estimate": element.get("estimate"), "ci_low": element.get("ci_low"),
                   "ci_high": element.get("ci_high")}


def _distribution_rows(snapshot: Snapshot) -> Iterator[Row]:
    for index in snapshot["indices"]:
        for level in index.get("distribution") or ():
            yield {"index_id": index_id(snapshot, index), "level": level["level"], "label_vi": level["label_vi"],
                   "suppressed": bool(index["suppressed"]), "count": None if index["suppressed"] else level["count"]}


def _ranking_rows(snapshot: Snapshot) -> Iterator[Row]:
    for ranking in snapshot["rankings"]:
        for row in ranking["rows"]:
            yield {"index_id": _index_id(snapshot, ranking["questionnaire"], row["unit"], ranking["service"]),
                   "parent": ranking["parent"], "level": ranking["level"], "unit": row["unit"], "n": row["n"],
                   "suppressed": bool(row["suppressed"]), "estimate": row.get("estimate"),
                   "ci_low": row.get("ci_low"), "ci_high": row.get("ci_high"), "rank": row.get("rank"),
                   "rank_low": row.get("rank_low"), "rank_high": row.get("rank_high"), "group": row.get("group"),
                   "median": ranking.get("median"), "best": _get(ranking.get("best"), "unit"),
                   **_modelled_cells(ranking, row)}


def _modelled_cells(ranking: Mapping[str, Any], row: Mapping[str, Any]) -> Row:
    """The Fay–Herriot modelled index of a ranked unit (empty cells when no model was fitted)."""
    modelled = row.get("modelled") or {}
    model = ranking.get("model") or {}
    return {"modelled": modelled.get("estimate"), "modelled_ci_low": modelled.get("ci_low"),
            "modelled_ci_high": modelled.get("ci_high"), "modelled_mse": modelled.get("mse"),
            "modelled_kind": modelled.get("kind"), "modelled_gamma": modelled.get("gamma"),
            "model_covariates": " ".join(c["name"] for c in model.get("covariates") or []) if model else None}


def _trend_rows(snapshot: Snapshot) -> Iterator[Row]:
    for point in snapshot["trend"]:
        yield {"index_id": _index_id(snapshot, point["questionnaire"], point["unit"], point["service"]),
               "period": point["period"], "n": point.get("n"), "suppressed": bool(point["suppressed"]),
               "estimate": point.get("estimate"), "ci_low": point.get("ci_low"), "ci_high": point.get("ci_high")}


def _admin_rows(snapshot: Snapshot) -> Iterator[Row]:
    for row in snapshot.get("admin_index") or ():
        yield {"unit": row["unit"], "period": row["period"], "indicator": row["indicator"],
               "numerator": row["numerator"], "denominator": row["denominator"], "rate": row.get("rate")}


def _papi_rows(snapshot: Snapshot) -> Iterator[Row]:
    papi = snapshot.get("papi")
    if not papi:
        return
    total = papi.get("total") or {}
    yield {"year": papi["year"], "unit": papi["unit"], "dimension": "total", "sub_dimension": None,
           "label_vi": "Tổng PAPI", "estimate": total.get("estimate"),
           "ci_low": total.get("ci_low"), "ci_high": total.get("ci_high")}
    for dim in papi.get("dimensions") or ():
        yield {"year": papi["year"], "unit": papi["unit"], "dimension": dim["key"], "sub_dimension": None,
               "label_vi": dim.get("label_vi"), "estimate": dim.get("estimate"),
               "ci_low": dim.get("ci_low"), "ci_high": dim.get("ci_high")}
        for sub in dim.get("sub") or ():
            yield {"year": papi["year"], "unit": papi["unit"], "dimension": dim["key"], "sub_dimension": sub["key"],
                   "label_vi": sub.get("label_vi"), "estimate": sub.get("estimate"),
                   "ci_low": sub.get("ci_low"), "ci_high": sub.get("ci_high")}


_UNIT = Field("unit", "string", "Mã đơn vị", "Unit code (units.csv)", required=True)
_INDEX_ID = Field("index_id", "string", "Mã chỉ số", "Stable id of the index (indices.csv)", required=True)
_N = Field("n", "integer", "Số ý kiến hợp lệ", "Number of valid answers", minimum=0)
_SUPPRESSED = Field("suppressed", "boolean", "Chưa đủ ý kiến để công bố",
                    "true: too few answers to publish; the numbers are left empty", required=True)
_CI = (Field("ci_low", "number", "Cận dưới khoảng tin cậy", "Lower bound of the confidence interval"),
       Field("ci_high", "number", "Cận trên khoảng tin cậy", "Upper bound of the confidence interval"))

TABLES: tuple[Table, ...] = (
    Table("units", "Đơn vị", "Units shown in the release (today's map).", (
        Field("code", "string", "Mã đơn vị", "Unit code", required=True),
        Field("name", "string", "Tên đơn vị", "Unit name", required=True),
        Field("kind", "string", "Cấp", "Kind of unit",
              enum=("province", "department", "district", "commune", "desk", "hamlet")),
        Field("parent", "string", "Đơn vị cấp trên", "Code of the parent unit"),
    ), _unit_rows, primary_key=("code",)),
    Table("services", "Dịch vụ", "Services rated in the release.", (
        Field("code", "string", "Mã dịch vụ", "Service code", required=True),
        Field("name_vi", "string", "Tên dịch vụ", "Service name in Vietnamese", required=True),
        Field("name_en", "string", "Tên tiếng Anh", "Service name in English"),
    ), _service_rows, primary_key=("code",)),
    Table("indices", "Chỉ số hài lòng", "Overall satisfaction index per unit × service (empty service: all "
          "services) × questionnaire, with its confidence interval, PAR 8.1 points, change and target.", (
        Field("id", "string", "Mã chỉ số", "Stable id: series:questionnaire:unit:service", required=True),
        Field("questionnaire", "string", "Bộ câu hỏi", "Questionnaire id", required=True),
        _UNIT,
        Field("service", "string", "Mã dịch vụ", "Service code; empty for all services"),
        _N,
        Field("n_eff", "number", "Cỡ mẫu hiệu dụng", "Effective sample size", minimum=0),
        _SUPPRESSED,
        _share("estimate", "Chỉ số hài lòng", "Overall satisfaction index (share, 0–1)"),
        Field("se", "number", "Sai số chuẩn", "Standard error", minimum=0),
        *_CI,
        Field("par_points", "number", "Điểm PAR 8.1", "PAR Index 8.1 points"),
        Field("par_points_ci_low", "number", "Cận dưới điểm PAR 8.1", "Lower bound of the PAR 8.1 points"),
        Field("par_points_ci_high", "number", "Cận trên điểm PAR 8.1", "Upper bound of the PAR 8.1 points"),
        Field("previous_period", "string", "Kỳ trước", "Period compared with"),
        Field("change", "number", "Thay đổi so với kỳ trước", "Change since the previous period"),
        Field("change_se", "number", "Sai số chuẩn của thay đổi", "Standard error of the change", minimum=0),
        Field("change_significant", "boolean", "Thay đổi có ý nghĩa thống kê", "Whether the change is significant"),
        Field("target_year", "integer", "Năm mục tiêu", "Year of the goal"),
        _share("target", "Mục tiêu", "Goal for the index"),
        Field("target_gap", "number", "Khoảng cách tới mục tiêu", "Goal minus estimate"),
        Field("target_reached", "boolean", "Đạt mục tiêu", "Whether the goal is reached"),
    ), _index_rows, primary_key=("id",), foreign_keys=(("unit", "units", "code"), ("service", "services", "code"))),
    Table("elements", "Chỉ số thành phần", "The five SIPAS elements of each index.", (
        _INDEX_ID,
        Field("element", "string", "Yếu tố", "Element key", required=True),
        Field("label_vi", "string", "Tên yếu tố", "Element name in Vietnamese"),
        Field("label_en", "string", "Tên tiếng Anh", "Element name in English"),
        _N, _SUPPRESSED,
        _share("estimate", "Chỉ số", "Element index (share, 0–1)"), *_CI,
    ), _element_rows, primary_key=("index_id", "element"), foreign_keys=(("index_id", "indices", "id"),)),
    Table("distribution", "Phân bố mức đánh giá", "Counts per level of the 5-level scale.", (
        _INDEX_ID,
        Field("level", "integer", "Mức", "Level of the 5-level scale (1–5)", required=True, minimum=1, maximum=5),
        Field("label_vi", "string", "Tên mức", "Level label in Vietnamese"),
        _SUPPRESSED,
        Field("count", "integer", "Số ý kiến", "Number of answers at this level", minimum=0),
    ), _distribution_rows, primary_key=("index_id", "level"), foreign_keys=(("index_id", "indices", "id"),)),
    Table("rankings", "Xếp hạng", "Units ranked on the overall index, with 95% rank intervals and nhóm 1–4.", (
        _INDEX_ID,
        Field("parent", "string", "Đơn vị cấp trên", "Unit whose units are ranked", required=True),
        Field("level", "string", "Cấp xếp hạng", "Kind of the ranked units", required=True),
        _UNIT, _N, _SUPPRESSED,
        _share("estimate", "Chỉ số hài lòng", "Overall satisfaction index (share, 0–1)"), *_CI,
        Field("rank", "integer", "Hạng", "Rank (1 = highest)", minimum=1),
        Field("rank_low", "integer", "Hạng cao nhất có thể", "Best rank of the 95% rank interval", minimum=1),
        Field("rank_high", "integer", "Hạng thấp nhất có thể", "Worst rank of the 95% rank interval", minimum=1),
        Field("group", "integer", "Nhóm", "Performance group (nhóm 1–4 by quartile)", minimum=1, maximum=4),
        _share("median", "Trung vị", "Median over the ranked units"),
        Field("best", "string", "Đơn vị cao nhất", "Code of the best unit"),
        _share("modelled", "Ước lượng mô hình", "Modelled estimate (Fay–Herriot EBLUP) of the overall index, "
               "shown beside the direct one and for units too small to publish; see the methodology note"),
        _share("modelled_ci_low", "Ước lượng mô hình: cận dưới", "Lower limit of the modelled estimate "
               "(estimate − z·√MSE, Prasad–Rao MSE), within 0–1"),
        _share("modelled_ci_high", "Ước lượng mô hình: cận trên", "Upper limit of the modelled estimate"),
        Field("modelled_mse", "number", "Sai số bình phương trung bình", "Prasad–Rao mean squared error of the "
              "modelled estimate", minimum=0),
        Field("modelled_kind", "string", "Loại ước lượng mô hình", "eblup: the direct index combined with the "
              "model's prediction; synthetic: the prediction alone (a unit without answers)",
              enum=("eblup", "synthetic")),
        _share("modelled_gamma", "Trọng số của chỉ số trực tiếp", "Weight of the direct index in the EBLUP "
               "(empty when the direct index is suppressed)"),
        Field("model_covariates", "string", "Biến phụ trợ của mô hình", "Area covariates of the model, "
              "space-separated (empty: intercept only)"),
    ), _ranking_rows, primary_key=("index_id", "parent", "level")),
    Table("trend", "Diễn biến qua các kỳ", "The index over the published periods.", (
        _INDEX_ID,
        Field("period", "string", "Kỳ", "Period code (2026-Q3, 2026-H1, 2026-9M, 2026)", required=True),
        _N, _SUPPRESSED,
        _share("estimate", "Chỉ số hài lòng", "Overall satisfaction index (share, 0–1)"), *_CI,
    ), _trend_rows, primary_key=("index_id", "period")),
    Table("admin_index", "Chỉ số Quyết định 766", "Figures of Decision 766/QĐ-TTg imported from the "
          "national public service portal, per unit, with numerator and denominator.", (
        _UNIT,
        Field("period", "string", "Kỳ", "Period code", required=True),
        Field("indicator", "string", "Chỉ tiêu", "Indicator key", required=True),
        Field("numerator", "integer", "Tử số", "Numerator", minimum=0),
        Field("denominator", "integer", "Mẫu số", "Denominator", minimum=0),
        _share("rate", "Tỷ lệ", "numerator / denominator"),
    ), _admin_rows, primary_key=("unit", "period", "indicator"), foreign_keys=(("unit", "units", "code"),)),
    Table("papi", "PAPI", "PAPI total, dimensions and sub-dimensions with confidence intervals.", (
        Field("year", "integer", "Năm", "Survey year", required=True),
        _UNIT,
        Field("dimension", "string", "Nội dung", "Dimension key (total for the PAPI total)", required=True),
        Field("sub_dimension", "string", "Nội dung thành phần", "Sub-dimension key"),
        Field("label_vi", "string", "Tên", "Name in Vietnamese"),
        Field("estimate", "number", "Điểm", "Score"), *_CI,
    ), _papi_rows),
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _csv(table: Table, rows: Sequence[Row]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([f.name for f in table.fields])
    for row in rows:
        writer.writerow([_cell(row.get(f.name)) for f in table.fields])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


@dataclass(frozen=True)
class DataPackage:
    name: str
    files: Mapping[str, bytes]  # path inside the package → bytes; "datapackage.json" first

    @property
    def descriptor(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.files["datapackage.json"])
        return loaded

    def zip(self) -> bytes:
        """The package as one ZIP file (fixed timestamps: the same package gives the same bytes)."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path, body in self.files.items():
                info = zipfile.ZipInfo(f"{self.name}/{path}", date_time=(2020, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, body)
        return buffer.getvalue()


def package_name(snapshot: Snapshot) -> str:
    release = snapshot["release"]
    return f"hailong-{release['series']}-v{release['version']}".lower()


def data_package(snapshot: Snapshot, *, license_name: str = "CC-BY-4.0", publisher: str = "") -> DataPackage:
    """The Data Package of a published release: ``datapackage.json`` and its CSV files."""
    release = snapshot["release"]
    name = package_name(snapshot)
    files: dict[str, bytes] = {}
    resources = []
    for table in TABLES:
        rows = list(table.rows(snapshot))
        if not rows and table.name in ("admin_index", "papi"):
            continue  # optional parts of a release
        body = _csv(table, rows)
        files[table.path] = body
        schema: dict[str, Any] = {"fields": [f.descriptor() for f in table.fields], "missingValues": [""]}
        if table.primary_key:
            schema["primaryKey"] = list(table.primary_key)
        present = {t.name for t in TABLES if t.path in files} | {table.name}
        keys = [{"fields": field, "reference": {"resource": resource, "fields": ref}}
                for field, resource, ref in table.foreign_keys if resource in present]
        if keys:
            schema["foreignKeys"] = keys
        resources.append({
            "name": table.name, "path": table.path, "title": table.title, "description": table.description,
            "profile": "tabular-data-resource", "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
            "bytes": len(body), "dialect": {"delimiter": ",", "lineTerminator": "\r\n", "header": True},
            "schema": schema,
        })
    period, scope = release["period"], release["scope"]
    license_info = LICENSES.get(license_name, {"name": license_name, "title": license_name})
    descriptor: dict[str, Any] = {
        "profile": "tabular-data-package",
        "name": name,
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"hailong:release:{release['series']}:v{release['version']}")),
        "title": f"Chỉ số hài lòng — {scope['name']}, {period['label_vi']} (phiên bản {release['version']})",
        "description": (
            f"Kết quả khảo sát sự hài lòng của người dân, tổ chức đối với sự phục vụ của cơ quan hành chính "
            f"nhà nước: {scope['name']}, {period['label_vi']}. Satisfaction survey results for "
            f"{scope['name']}, {period['label_en']}. Cells with too few answers are suppressed."
        ),
        "version": f"{release['version']}.0.0",
        "created": release.get("published_at"),
        "licenses": [license_info],
        "sources": [{"title": f"Hài Lòng — phiếu khảo sát {q}, ý kiến đã duyệt (approved responses)"}
                    for q in release["questionnaires"]],
        "keywords": ["SIPAS", "hài lòng", "satisfaction", scope["name"], period["code"]],
        "methodology_version": release["methodology_version"],
        "hailong": {
            "release_id": release["id"], "series": release["series"], "version": release["version"],
            "status": release["status"], "period": period, "scope": scope,
            "questionnaires": release["questionnaires"], "overall_rule": release["overall_rule"],
            "weighting": release["weighting"], "confidence_level": release["confidence_level"],
            "min_publish_n": release["min_publish_n"], "min_effective_n": release["min_effective_n"],
            "changelog": release.get("changelog") or [], "withdrawn": release.get("withdrawn"),
        },
        "resources": resources,
    }
    if publisher:
        descriptor["contributors"] = [{"title": publisher, "role": "publisher"}]
    body = json.dumps(descriptor, ensure_ascii=False, indent=2, sort_keys=False).encode("utf-8") + b"\n"
    return DataPackage(name=name, files={"datapackage.json": body, **files})
