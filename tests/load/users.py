"""Generated EverReal users whose companies overlap, as a users file for the fake.

Companies belong to one partner each. A user is in 1 to 10 of them and works
in one (``currentCompany``); EverReal names a partner only on the current
company, so the user's ``partner`` is that company's partner. Everything
follows from the seed, so a failure can be replayed.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django_everreal.testing.data import KNOWN_SCOPES
from django_everreal.testing.data import derived_id

MAX_COMPANIES_PER_USER = 10
#: The scopes users get a random selection of.
SCOPES = tuple(scope for scope in KNOWN_SCOPES if scope != "superadmin_all")
FIRST_NAMES = ("Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hugo")
LAST_NAMES = ("Becker", "Fischer", "Hoffmann", "Koch", "Meyer", "Schulz", "Wolf")


@dataclass(frozen=True)
class LoadUser:
    """Who a client logs in as."""

    email: str
    password: str


def generate_users(
    count: int, *, companies: int, partners: int, seed: int
) -> list[dict[str, Any]]:
    """*count* user objects of a users file sharing *companies* under *partners*."""
    if count < 1 or companies < 1 or not 1 <= partners <= companies:
        raise ValueError(
            f"Need users >= 1 and 1 <= partners <= companies; got {count}, {companies}, {partners}."
        )
    rng = random.Random(seed)  # noqa: S311 -- replayable test data
    partner_objects = [
        {
            "id": derived_id("partner", f"load-partner-{p}"),
            "name": f"Load Partner {p}",
            "subdomain": f"load-partner-{p}",
        }
        for p in range(partners)
    ]
    # Every partner gets at least one company; a company has exactly one partner.
    owners = [c % partners for c in range(companies)]
    rng.shuffle(owners)
    company_objects = [
        {"id": derived_id("company", f"Load Company {c}"), "name": f"Load Company {c}"}
        for c in range(companies)
    ]
    users = []
    for i in range(count):
        chosen = rng.sample(
            range(companies), rng.randint(1, min(MAX_COMPANIES_PER_USER, companies))
        )
        current = rng.choice(chosen)
        # Most users have a default company, not always the current one.
        default = rng.choice(chosen) if rng.random() < 0.8 else None
        users.append(
            {
                "email": f"load-{i:05d}@example.com",
                "password": f"password-{i:05d}",
                "firstName": rng.choice(FIRST_NAMES),
                "lastName": rng.choice(LAST_NAMES),
                "isTenant": rng.random() < 0.2,
                "companies": [
                    {**company_objects[c], "isDefault": c == default} for c in chosen
                ],
                "currentCompany": company_objects[current]["id"],
                "partner": partner_objects[owners[current]],
                "scopes": rng.sample(SCOPES, rng.randint(0, len(SCOPES))),
            }
        )
    return users


def write_users_file(path: Path, users: list[dict[str, Any]]) -> Path:
    """A users file of *users*; the fake keeps its demo client (loopback redirects)."""
    path.write_text(json.dumps({"users": users}, indent=1), encoding="utf-8")
    return path
