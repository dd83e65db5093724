"""ThoughtSpot Orgs as the simulator models them: which org a token lands in, what it may read, what orgs/search says.

Documented (reference/thoughtspot-api.md §1, entitlements-api.md §1.2-1.3):
- the token sets the org context; `auth/token/full` takes `org_id`;
- logs/fetch returns "security logs for the current Org context"; "the administrator of the primary Org (Org 0) can
  fetch logs not just for the primary Org, but also for all other Orgs if `get_all_logs` is `true`";
- without `org_id` the token lands in Org 0 (developer docs) or in the org of the secret key / the user's previous
  session (OpenAPI spec): `default_org="zero"` or `"last"` picks one, so a client can be proved not to depend on it;
- orgs/search needs cluster administration ("Can administer Org"); the Primary Org has id 0, others random ids.

Inferred where the docs are silent ([I], chosen so a client that relies on the unsaid fails here):
- `orgId` -1 records (org creation/deletion/access, cluster-level) belong to no org: only an Org 0 token sees them,
  with or without `get_all_logs`; an Org N token never does;
- `get_all_logs` is ignored outside Org 0 (only the Org 0 administrator is documented to read every org);
- `get_all_logs: false` in Org 0 gives Org 0 (and cluster-level) records only, the v1 page's "only primary Org";
- orgs/search from an Org N token of a cluster administrator lists only Org N (cs_tools stores that answer as the
  org's own row); a user who administers some orgs but not Org 0 gets 403 (no cluster administration);
- minting a token for an org that does not exist -> 400 10002; for an org the user is not in -> 403 10023;
  a token in an org where the user is not an administrator mints, but logs/fetch answers 403;
- with one org (`orgs=(0,)`) the Orgs feature is off: orgs/search answers 400 (cs_tools reads any non-2xx as
  "orgs disabled") and cluster-level records carry orgId 0.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

DEFAULT_ORGS = (0, 1, 2)
_KNOWN_NAMES = {0: "Primary", 1: "emea-org", 2: "apac-org"}
DEFAULT_ORG_MODES = ("zero", "last")
CLUSTER_ORG = -1


class OrgDirectory:
    """The cluster's orgs and the service user's place in them (admin, member), plus the 'last session' memory."""

    def __init__(
        self,
        orgs: Sequence[int],
        admin_orgs: Sequence[int] | None,
        member_orgs: Sequence[int],
        default_org: str,
        key_org: int | None,
    ) -> None:
        self.orgs = tuple(dict.fromkeys(int(o) for o in orgs))
        if 0 not in self.orgs:
            raise ValueError(f"orgs={orgs!r}: a cluster always has the Primary Org 0; include 0")
        if any(o < 0 for o in self.orgs):
            raise ValueError(f"orgs={orgs!r}: org ids are 0 or positive (-1 marks cluster-level records only)")
        if default_org not in DEFAULT_ORG_MODES:
            raise ValueError(
                f"default_org={default_org!r}: use 'zero' (token lands in Org 0 when org_id is not "
                "sent) or 'last' (it lands in the key's / previous session's org)"
            )
        self.admin_orgs = frozenset(self.orgs if admin_orgs is None else admin_orgs)
        self.member_orgs = self.admin_orgs | frozenset(member_orgs)
        unknown = self.member_orgs - set(self.orgs)
        if unknown:
            raise ValueError(f"admin_orgs/member_orgs name orgs {sorted(unknown)} that are not in orgs={self.orgs}")
        self.default_org = default_org
        others = sorted(o for o in self.member_orgs if o != 0)
        self.key_org = key_org if key_org is not None else (others[0] if others else 0)
        if self.key_org not in self.member_orgs:
            raise ValueError(f"key_org={self.key_org} is not an org the user belongs to ({sorted(self.member_orgs)})")
        self._last: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return len(self.orgs) > 1

    def name(self, org: int) -> str:
        return _KNOWN_NAMES.get(org, f"org-{org}")

    def is_cluster_admin(self) -> bool:
        return 0 in self.admin_orgs

    # -- tokens -------------------------------------------------------------------------------------------------
    def landing(self, username: str, requested: int | None) -> int:
        """The org a new token of `username` lands in (`requested` None = org_id not sent)."""
        if requested is not None:
            return requested
        if self.default_org == "zero":
            return 0
        with self._lock:
            return self._last.get(username, self.key_org)

    def remember(self, username: str, org: int) -> None:
        """A token was minted in `org`: with default_org="last" the next token without org_id lands there."""
        with self._lock:
            self._last[username] = org

    def refusal(self, org: int, member: bool) -> tuple[int, str] | None:
        """(status, message) when a token for `org` cannot be minted, else None."""
        if org not in self.orgs:
            return 400, f"Org {org} does not exist on this cluster. Use orgs/search to list the orgs."
        if not member:
            return 403, f"The user is not a member of Org {org}."
        return None

    # -- reading ------------------------------------------------------------------------------------------------
    def visible_orgs(self, token_org: int, get_all_logs: bool) -> frozenset[int] | None:
        """The orgs whose records a token may read; None means every record (Org 0 with get_all_logs)."""
        if token_org == 0:
            return None if get_all_logs else frozenset({0, CLUSTER_ORG})
        return frozenset({token_org})

    def search(self, token_org: int, body: dict[str, Any]) -> list[dict[str, Any]]:
        """orgs/search for a cluster administrator: every org from Org 0, only the current org elsewhere."""
        listed = self.orgs if token_org == 0 else (token_org,)
        wanted = body.get("org_identifier")
        rows = []
        for org in listed:
            row = {
                "id": org,
                "name": self.name(org),
                "status": "ACTIVE",
                "description": "Primary Org" if org == 0 else self.name(org),
                "visibility": "SHOW",
            }
            if wanted not in (None, "") and str(wanted) not in (str(org), row["name"]):
                continue
            if body.get("status") not in (None, "ACTIVE") or body.get("visibility") not in (None, "SHOW"):
                continue
            rows.append(row)
        return rows


def remap_population_orgs(people: Iterable[Any], orgs: Sequence[int]) -> None:
    """Spread non-admin users round-robin over `orgs` (the default (0, 1, 2) keeps the seeded assignment)."""
    for i, person in enumerate(people):
        person.org = orgs[i % len(orgs)]
