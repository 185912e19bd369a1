"""Issue 15 item 21: an incident's snapshots show on the hub's incident page as pictures,
to the roles the camera's policy allows, and as a plain note to the others."""

from __future__ import annotations

import re
from typing import Any

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME


async def test_incident_page_shows_the_pictures_the_policy_allows(cam_hub: Any, client_for: Any) -> None:
    inc = await cam_hub.data[INCIDENT_RUNTIME].open("sos", title="SOS ร้านทอง")
    taken = await cam_hub.services.call(
        "camera", "snapshot", {"entity_id": ["camera.always_cam", "camera.never_cam"], "incident_id": inc.id}
    )
    always_id, never_id = taken["snapshot_ids"]
    await cam_hub.block_till_done()

    operator = await client_for("operator")
    page = await (await operator.get(f"/incidents/{inc.id}")).text()
    images = re.findall(r'<img src="([^"]+)"', page)
    # The hub's own staff see every picture of their incident.
    assert f"/api/snapshots/{always_id}.jpg" in images and f"/api/snapshots/{never_id}.jpg" in images
    picture = await operator.get(f"/api/snapshots/{always_id}.jpg")
    assert picture.status == 200 and (await picture.read())[:2] == b"\xff\xd8"

    viewer = await client_for("viewer")
    page = await (await viewer.get(f"/incidents/{inc.id}")).text()
    images = re.findall(r'<img src="([^"]+)"', page)
    # A viewer sees what the owner shares with everyone; the never camera stays a note, no id.
    assert images == [f"/api/snapshots/{always_id}.jpg"]
    assert never_id not in page
    assert "snapshot-withheld" in page
    assert (await viewer.get(f"/api/snapshots/{always_id}.jpg")).status == 200
