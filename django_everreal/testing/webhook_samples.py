"""Sample ``data`` of webhook deliveries, per event type.

Shaped as EverReal's docs print them, with ids of the demo data, so a
receiver under test gets what EverReal would send without the test
spelling it out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django_everreal.testing.records import DEMO_TIMESTAMP
from django_everreal.testing.records import derived_id

# Webhook deliveries: sample ``data`` per event type, shaped as EverReal's
# docs print them, with ids of the demo data, so a receiver under test gets
# what EverReal would send without the test spelling it out.

DEMO_LISTING_ID = derived_id("listing", "Villenallee 21, WE 03")
DEMO_PROPERTY_ID = derived_id("property", "Villenallee 21")
DEMO_UNIT_ID = derived_id("unit", "Villenallee 21, WE 03")
DEMO_CONTRACT_ID = derived_id("contract", "Villenallee 21, WE 03")
DEMO_CHANNEL_ID = derived_id("channel", "ImmobilienScout24")


def _demo_listing() -> dict[str, Any]:
    return {
        "id": DEMO_LISTING_ID,
        "property": {
            "id": DEMO_PROPERTY_ID,
            "objectId": "1001",
            "type": "BUILDING",
            "address": {
                "zip": "40211",
                "city": "Düsseldorf",
                "streetNumber": "21",
                "streetName": "Villenallee",
                "placeId": "ChIJ-demo-villenallee-21",
                "location": {"lat": 51.2277, "lng": 6.7735},
            },
        },
        "unit": {
            "id": DEMO_UNIT_ID,
            "objectId": "1001-03",
            "name": "WE 03, 2. OG links",
            "type": "APARTMENT",
        },
    }


def _contract_flow(status: str) -> dict[str, Any]:
    tom = derived_id("user", "tom@example.com")
    return {
        "id": DEMO_CONTRACT_ID,
        "metadata": {
            "unitId": DEMO_UNIT_ID,
            "listingId": DEMO_LISTING_ID,
            "candidateId": tom,
        },
        "contractData": {"rent": {"coldRent": 980, "currency": "EUR"}},
        "status": status,
        "contractFlowType": "DIGITAL",
        "contractFile": {
            "name": "Mietvertrag.pdf",
            "resourcePath": f"contracts/{DEMO_CONTRACT_ID}/Mietvertrag.pdf",
            "order": 0,
            "size": 184320,
            "type": "application/pdf",
        },
    }


def _sample_candidate_applied() -> dict[str, Any]:
    return {
        "id": derived_id("user", "tom@example.com"),
        "candidateSource": "EVERREAL",
        "email": "tom@example.com",
        "firstName": "Tom",
        "lastName": "Meyer",
        "listing": _demo_listing(),
    }


def _sample_published() -> dict[str, Any]:
    # EverReal's page for this event could not be read: the listing's shape
    # as in the candidate events, plus the channel it went to.
    return {
        **_demo_listing(),
        "channel": {"id": DEMO_CHANNEL_ID, "name": "ImmobilienScout24"},
    }


def _sample_contract_signed() -> dict[str, Any]:
    data = _contract_flow("SIGNED")
    data["auditTrailFile"] = {
        "name": "Audit-Trail.pdf",
        "resourcePath": f"contracts/{DEMO_CONTRACT_ID}/Audit-Trail.pdf",
        "order": 1,
        "size": 40960,
        "type": "application/pdf",
    }
    return data


def _sample_contract_started() -> dict[str, Any]:
    return {
        **_contract_flow("CREATED"),
        "contractTemplateId": derived_id("contract-template", "Wohnraummietvertrag"),
    }


def _sample_property() -> dict[str, Any]:
    # Not documented: the property of the listing events.
    listing = _demo_listing()
    return {**listing["property"], "updatedAt": DEMO_TIMESTAMP}


def _sample_invited_viewing() -> dict[str, Any]:
    return {
        "invitationId": derived_id("invitation", "Villenallee 21, WE 03"),
        "listing": _demo_listing(),
        "candidate": {
            "id": derived_id("user", "tom@example.com"),
            "email": "tom@example.com",
        },
    }


_WEBHOOK_SAMPLES: dict[str, Callable[[], dict[str, Any]]] = {
    "LISTING_CREATED": _demo_listing,
    "LISTING_UPDATED": _demo_listing,
    "LISTING_PUBLISHED_TO_CHANNEL": _sample_published,
    "LISTING_UNPUBLISHED_FROM_CHANNEL": _sample_published,
    "LISTING_CANDIDATE_APPLIED": _sample_candidate_applied,
    "LISTING_CANDIDATE_SCHEDULE_INVITED_VIEWING": _sample_invited_viewing,
    "LISTING_CONTRACT_FLOW_STARTED": _sample_contract_started,
    "LISTING_CONTRACT_FLOW_SIGNED": _sample_contract_signed,
    "PROPERTY_CREATED": _sample_property,
    "PROPERTY_UPDATED": _sample_property,
}


def webhook_sample(event_type: str) -> dict[str, Any]:
    """Sample ``data`` of an event type, fresh on each call (tests may change it).

    Types without a sample get ``{"id": ...}``: EverReal adds event types,
    and a receiver must take those too.
    """
    sample = _WEBHOOK_SAMPLES.get(event_type)
    if sample is None:
        return {"id": derived_id("event-object", event_type)}
    return sample()
