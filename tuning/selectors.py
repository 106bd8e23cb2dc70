"""Reads of tuning jobs: one, a page of them, and their JSON shape (the API's and the pages')."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from analytics import selectors as analytics_selectors
from engine.context import Context
from profiles import selectors as profile_selectors
from rmos_site.errors import NotFound
from tuning.models import TuningJob

PER_PAGE_MAX = 100


@dataclass(frozen=True)
class JobPage:
    jobs: list[TuningJob]
    page: int
    pages: int
    per_page: int
    total: int


def tuning_job_get(*, job_id: Any) -> TuningJob:
    job = None
    if isinstance(job_id, int) and not isinstance(job_id, bool) and 0 < job_id < 2**63:
        job = TuningJob.objects.select_related("started_by").filter(pk=job_id).first()
    if job is None:
        raise NotFound(f"No tuning job #{job_id}.", extra={"field": "id"})
    return job


def tuning_job_list(*, profile: str | None = None, page: int = 1, per_page: int = 20) -> JobPage:
    """One page (from 1; past the last gives the last) of the jobs, newest first; the result JSON
    is left in the database (a list shows states and progress, not proposals)."""
    per_page = max(1, min(per_page, PER_PAGE_MAX))
    queryset = TuningJob.objects.select_related("started_by").defer("result", "saved_values", "traffic")
    if profile:
        queryset = queryset.filter(profile_name=profile)
    total = queryset.count()
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    chunk = list(queryset[(page - 1) * per_page : page * per_page]) if total else []
    return JobPage(jobs=chunk, page=page, pages=pages, per_page=per_page, total=total)


def tuning_jobs_recent(*, profile: str, limit: int = 5) -> list[TuningJob]:
    """A profile's newest jobs, in one query (its page lists them under "Tune")."""
    queryset = TuningJob.objects.filter(profile_name=profile).defer("result", "saved_values", "traffic")
    return list(queryset[:limit])


def tuning_job_to_dict(job: TuningJob, *, detail: bool = True) -> dict[str, Any]:
    """The job as the API shows it; ``detail`` adds the record searched and the result."""
    data: dict[str, Any] = {
        "id": job.pk,
        "profile": job.profile_name,
        "profile_version": job.profile_version,
        "context": job.focus,
        "trials": job.trials,
        "seed": job.seed,
        "samples_per_context": job.samples_per_context,
        "state": job.state,
        "progress": {"done": job.trials_done, "total": job.trials},
        "cancel_requested": job.cancel_requested,
        "stalled": job.stalled,
        "error": job.error,
        "started_by": job.started_by.get_username() if job.started_by else None,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }
    if detail:
        result = job.result or {}
        data["traffic"] = [{**context, "runs": runs} for context, runs in job.traffic]
        data["saved"] = result.get("saved")
        data["proposals"] = result.get("proposals", [])
        data["history"] = result.get("history", [])
        data["importances"] = result.get("importances", {})
        data["search_space"] = result.get("search_space")
    return data


def tuning_job_proposal(*, job: TuningJob, rank: Any) -> dict[str, Any]:
    """Proposal ``rank`` (from 1) of a finished job, or NotFound naming ``proposal``."""
    proposals = (job.result or {}).get("proposals", [])
    if isinstance(rank, int) and not isinstance(rank, bool) and 1 <= rank <= len(proposals):
        return proposals[rank - 1]
    raise NotFound(f"Tuning job #{job.pk} has no proposal {rank}.", extra={"field": "proposal"})


def proposal_set_back(*, job: TuningJob, proposal: dict[str, Any], profile) -> list[dict[str, Any]]:
    """The fields a proposal would set back if filled in over the profile's current values: those
    it changes that a version saved since the job changed to something else. Each as ``field``,
    ``then`` (the job's version), ``now`` and ``proposed``; empty while the profile is unchanged."""
    if profile.version == job.profile_version:
        return []
    then = profile_selectors.profile_values_at_version(profile=profile, version=job.profile_version) or {}
    now = profile_selectors.profile_values(profile)
    return [
        {"field": c["field"], "then": then[c["field"]], "now": now[c["field"]], "proposed": c["after"]}
        for c in proposal["changes"]
        if c["field"] in then and then[c["field"]] != now.get(c["field"]) != c["after"]
    ]


def tuning_focus_find(
    *,
    profile: str | None,
    tool_id: str,
    material_id: str,
    machine_id: str,
    workflow_mode: str = "",
    geometry_engine: str = "",
) -> tuple[str, dict[str, str]] | None:
    """A hotspot's context (its workflow mode may be left out: the analytics group without it) as
    a focus: the profile whose traffic of the last 30 days has it (``profile``, or else the
    profile with the most runs in it) and the busiest matching context of that traffic; None if
    no traffic has it."""
    names = [profile] if profile else [p.name for p in profile_selectors.profile_list()]
    best: tuple[int, str, Context] | None = None
    for name in names:
        for context, runs in analytics_selectors.profile_traffic(name=name).contexts:  # busiest first
            same = (context.tool_id, context.material_id, context.machine_id, context.geometry_engine) == (
                tool_id,
                material_id,
                machine_id,
                geometry_engine,
            )
            if same and workflow_mode in ("", context.workflow_mode):
                if best is None or runs > best[0]:
                    best = (runs, name, context)
                break
    return None if best is None else (best[1], best[2].as_dict())
