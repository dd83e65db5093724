"""Which ThoughtSpot orgs to read, and with which token: every org explicitly, never the token's default.

logs/fetch returns the events of the token's org only; "the administrator of the primary Org (Org 0) can
fetch logs not just for the primary Org, but also for all other Orgs if get_all_logs is true".
- SOURCES__THOUGHTSPOT__ORG_IDS set (e.g. "0,583464508"): one token per listed org, each minted with that
  org_id, get_all_logs false; each org keeps its own cursor and coverage.
- Not set: an Org 0 token asks orgs/search {}. If it answers, the account administers the cluster: one Org 0
  token with get_all_logs true reads every org at once (the instance's own cursor, rows with org_id null).
  If it is refused, the orgs the account belongs to (auth/session/user) are read one token each; with no
  Orgs at all (the feature off), the one Org 0 read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.sources.common.errors import SourceError
from pipelines.sources.thoughtspot.thoughtspot_client import ENV_ORG_IDS, ThoughtSpotClient


@dataclass(frozen=True)
class OrgRead:
    """One read of a cluster: `org_id` None means every org at once (Org 0 token, get_all_logs true)."""

    org_id: int | None
    client: ThoughtSpotClient

    def state_key(self, source_instance: str) -> str:
        # The all-orgs read keeps the instance's own key: the state written before orgs were read explicitly.
        return source_instance if self.org_id is None else f"{source_instance}/org/{self.org_id}"


def parse_org_ids(value: Any) -> list[int] | None:
    """SOURCES__THOUGHTSPOT__ORG_IDS as a sorted list of org ids; None or "" when not set."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    items = value if isinstance(value, (list, tuple)) else str(value).replace(";", ",").split(",")
    ids = []
    for item in items:
        text = str(item).strip().strip("[]").strip()
        if not text:
            continue
        if not text.lstrip("-").isdigit() or int(text) < 0:
            raise SourceError(
                f"{ENV_ORG_IDS} must list org ids (0 is the Primary Org), e.g. 0,583464508; got {str(value)[:100]!r}"
            )
        ids.append(int(text))
    if not ids:
        raise SourceError(
            f"{ENV_ORG_IDS} names no org: list org ids such as 0,583464508, or unset it to read "
            "every org the account may read"
        )
    return sorted(set(ids))


def plan_org_reads(org_zero: ThoughtSpotClient, configured: list[int] | None) -> list[OrgRead]:
    """The reads that cover the configured orgs (or every org the account may read); see the module doc."""
    if configured is not None:
        return [OrgRead(org, org_zero.for_org(org, get_all_logs=False)) for org in configured]
    try:
        listed = org_zero.search_orgs()
    except SourceError as exc:
        raise SourceError(f"{exc}. To read only some orgs without an Org 0 token, set {ENV_ORG_IDS}") from None
    if listed is not None:
        return [OrgRead(None, org_zero)]
    member = org_zero.session_orgs()
    if not member:
        return [OrgRead(None, org_zero)]  # Orgs off: Org 0 is the whole cluster
    return [OrgRead(org, org_zero.for_org(org, get_all_logs=False)) for org in member]
