"""Push a published release to a CKAN open-data portal (the CKAN Action API, through ``ckanapi``).

One CKAN dataset per release series (``hailong-96-2026-q3``): the first version creates it, a
correction updates it (``package_patch``), so the dataset's address never changes while its
``version`` and changelog follow the release. Each file of the Data Package — and the PDF
reports when given — becomes one resource, replaced in place by name on the next push.
Configured by the settings ``CKAN_URL``, ``CKAN_API_KEY`` and ``CKAN_ORGANIZATION``;
``hailong portal push-ckan RELEASE_ID`` runs it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import ckanapi
from flask_babel import gettext as _

from survey.portal.datapackage import DataPackage

Snapshot = Mapping[str, Any]

# CKAN's own licence ids for the licences a release may carry (CKAN's default licence list).
LICENSE_IDS = {"CC-BY-4.0": "cc-by", "CC0-1.0": "cc-zero", "ODC-BY-1.0": "odc-by"}


class CkanError(Exception):
    """The push failed; the message says why, in words a staff member can act on."""


@dataclass(frozen=True)
class PushResult:
    dataset_id: str
    dataset_name: str
    created: bool  # False: an existing dataset of the series was updated
    resources: dict[str, str] = field(default_factory=dict)  # resource name → CKAN resource id


def dataset_name(snapshot: Snapshot) -> str:
    """The dataset's CKAN name: lower-case letters, digits and ``-`` (CKAN allows 2–100)."""
    return f"hailong-{snapshot['release']['series']}".lower()


def dataset_fields(snapshot: Snapshot, package: DataPackage, organization: str = "") -> dict[str, Any]:
    """The CKAN dataset of a release: title, notes with the changelog, licence, version, extras."""
    descriptor = package.descriptor
    release = snapshot["release"]
    license_name = descriptor["licenses"][0]["name"]
    changelog = "\n".join(f"- v{c['version']}: {c['text']}" for c in release.get("changelog") or () if c.get("text"))
    notes = descriptor["description"] + ("\n\n" + changelog if changelog else "")
    withdrawn = release.get("withdrawn")
    if withdrawn:
        notes = f"ĐÃ RÚT / WITHDRAWN: {withdrawn.get('notice', '')}\n\n{notes}"
    fields: dict[str, Any] = {
        "name": dataset_name(snapshot),
        "title": descriptor["title"],
        "notes": notes,
        "license_id": LICENSE_IDS.get(license_name, license_name),
        "version": str(release["version"]),
        "tags": [{"name": t} for t in ("SIPAS", "hai-long", "satisfaction", release["period"]["code"])],
        "extras": [
            {"key": "hailong_release_id", "value": str(release["id"])},
            {"key": "hailong_series", "value": release["series"]},
            {"key": "methodology_version", "value": release["methodology_version"]},
            {"key": "period", "value": release["period"]["code"]},
            {"key": "scope", "value": release["scope"]["code"]},
        ],
    }
    if organization:
        fields["owner_org"] = organization
    return fields


def _format(path: str) -> str:
    return path.rsplit(".", 1)[-1].upper()


def push_release(snapshot: Snapshot, package: DataPackage, *, url: str, api_key: str, organization: str = "",
                 reports: Mapping[str, bytes] | None = None, user_agent: str = "hailong") -> PushResult:
    """Create or update the release's dataset on the CKAN at ``url`` and upload its files.

    ``reports`` maps file names (``report.pdf``, ``report.en.pdf``) to PDF bytes. Raises
    :class:`CkanError` with a message for staff when CKAN refuses or cannot be reached."""
    if not url or not api_key:
        raise CkanError(_("CKAN is not configured: set HAILONG_CKAN_URL and HAILONG_CKAN_API_KEY."))
    files: dict[str, tuple[bytes, str]] = {}
    for path, body in package.files.items():
        files[path.rsplit("/", 1)[-1]] = (body, "application/json" if path.endswith(".json") else "text/csv")
    for name, body in (reports or {}).items():
        files[name] = (body, "application/pdf")
    name = dataset_name(snapshot)
    fields = dataset_fields(snapshot, package, organization)
    try:
        with ckanapi.RemoteCKAN(url, apikey=api_key, user_agent=user_agent) as ckan:
            try:
                existing = ckan.action.package_show(id=name)
            except ckanapi.NotFound:
                existing = None
            if existing is None:
                dataset = ckan.action.package_create(**fields)
            else:
                dataset = ckan.action.package_patch(id=existing["id"], **{k: v for k, v in fields.items() if k != "name"})
            by_name = {r["name"]: r["id"] for r in (existing or {}).get("resources", [])}
            uploaded: dict[str, str] = {}
            for resource_name, (body, mimetype) in files.items():
                upload = (resource_name, io.BytesIO(body), mimetype)
                if resource_name in by_name:
                    result = ckan.action.resource_patch(id=by_name[resource_name], upload=upload,
                                                        format=_format(resource_name), mimetype=mimetype)
                else:
                    result = ckan.action.resource_create(package_id=dataset["id"], name=resource_name, upload=upload,
                                                         format=_format(resource_name), mimetype=mimetype)
                uploaded[resource_name] = result["id"]
    except ckanapi.NotAuthorized:
        raise CkanError(_("CKAN refused the API key: check HAILONG_CKAN_API_KEY and the organisation's rights.")) from None
    except ckanapi.ValidationError as exc:
        raise CkanError(_("CKAN refused the dataset: %(detail)s", detail=_detail(exc))) from None
    except ckanapi.CKANAPIError as exc:
        raise CkanError(_("CKAN answered with an error: %(detail)s", detail=str(exc)[:300])) from None
    except OSError as exc:  # requests' connection errors are OSErrors
        raise CkanError(_("CKAN at %(url)s cannot be reached: %(detail)s", url=url, detail=type(exc).__name__)) from None
    return PushResult(dataset_id=dataset["id"], dataset_name=name, created=existing is None, resources=uploaded)


def _detail(exc: Exception) -> str:
    error = exc.args[0] if exc.args else {}
    if isinstance(error, dict):
        return "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                         for k, v in error.items() if k != "__type")
    return str(error)
