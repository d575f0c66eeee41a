"""Build ``official_units.json.gz`` from the PyPI package ``vietnam-provinces``.

The data file shipped with Hài Lòng is derived from that package (current list of 34 provinces and
3,321 commune-level units with their NSO codes, the pre-2025 provinces, districts and communes,
and the official old→new conversion table). Newer releases of the package need Python ≥ 3.12,
so the file is built once with it and shipped; rebuild it when the package publishes a new list:

    python3.12 -m pip install --target /tmp/vp 'vietnam-provinces>=2026.9'
    PYTHONPATH=/tmp/vp python3.12 survey/admin/build_official_units.py

then run ``hailong units import --all`` (it reports what the new list adds, renames and ends).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

OUT = Path(__file__).with_name("official_units.json.gz")


def build() -> dict[str, object]:
    import vietnam_provinces as vp
    from vietnam_provinces import Province, Ward
    from vietnam_provinces._province_conversion_2025 import OLD_TO_NEW as PROVINCE_OLD_TO_NEW
    from vietnam_provinces._ward_conversion_2025 import EFFECTIVE_DATE, OLD_TO_NEW, SOURCE
    from vietnam_provinces.legacy import District as LegacyDistrict
    from vietnam_provinces.legacy import Province as LegacyProvince
    from vietnam_provinces.legacy import Ward as LegacyWard

    return {
        "source": f"PyPI vietnam-provinces {vp.__version__} (data of {vp.__data_version__}; "
                  f"old→new table {SOURCE})",
        "package_version": vp.__version__,
        "data_date": vp.__data_version__,
        "effective": EFFECTIVE_DATE,
        "provinces": [[p.code.value, p.name, p.division_type.value] for p in Province.iter_all()],
        "wards": [[w.code.value, w.name, w.division_type.value, w.province_code.value] for w in Ward.iter_all()],
        "legacy_provinces": [[p.code.value, p.name, p.division_type.value] for p in LegacyProvince.iter_all()],
        "legacy_districts": [[d.code.value, d.name, d.division_type.value, d.province_code.value]
                             for d in LegacyDistrict.iter_all()],
        "legacy_wards": [[w.code.value, w.name, w.division_type.value, w.district_code.value]
                         for w in LegacyWard.iter_all()],
        "ward_changes": [[old, [n.code for n in e.new_wards], e.old_ward.is_partly_merged]
                         for old, e in sorted(OLD_TO_NEW.items())],
        "province_changes": [[old, [n.code for n in e.new_provinces]] for old, e in sorted(PROVINCE_OLD_TO_NEW.items())],
    }


if __name__ == "__main__":
    data = json.dumps(build(), ensure_ascii=False, separators=(",", ":")).encode()
    OUT.write_bytes(gzip.compress(data, mtime=0))
    print(f"{OUT}: {len(data):,} bytes of JSON, {OUT.stat().st_size:,} compressed")
