"""The notifications and Backup Radar routes of the gateway, against a fake notify."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from contracts.errors import PermissionDenied
from contracts.notify import BackupRadarView, DeliveryPage, RecipientPage, RecipientView
from gateway.app import create_app
from tests.support.fake_rpc import FakeRpcClient
from tests.unit.test_gateway_auth import auth, principal

T0 = datetime(2026, 11, 26, tzinfo=UTC)
RECIPIENT = RecipientView(id=uuid.uuid4(), tenant_id=uuid.uuid4(), email="ops@contoso.example", display_name=None,
                          types=["summary_report"], created_at=T0, updated_at=T0).to_wire()


def client(fake: FakeRpcClient) -> TestClient:
    return TestClient(create_app(rpc_client_factory=lambda _: fake))


def signed_in_as(answers: dict | None = None, **who) -> tuple[TestClient, FakeRpcClient]:
    fake = FakeRpcClient({("identity", "check_session"): principal(**who), **(answers or {})})
    return client(fake), fake


def notify_calls(fake: FakeRpcClient) -> list:
    return [c for c in fake.calls if c.call.service == "notify"]


def test_recipients_are_listed_for_a_user_who_manages_notifications_with_the_caller_sent_along():
    page = RecipientPage(items=[RecipientView.from_wire(RECIPIENT)], page=2, page_size=10, total=11).to_wire()
    http, fake = signed_in_as({("notify", "list_recipients"): page}, permissions=["manage_notifications"])

    response = http.get("/api/v1/notifications/recipients?page=2&page_size=10&type=summary_report", headers=auth())

    assert response.status_code == 200 and response.json()["total"] == 11
    [call] = notify_calls(fake)
    assert call.call.args == ({"page": 2, "page_size": 10, "type": "summary_report"},)
    assert call.context is not None and call.context.caller.permissions == ["manage_notifications"]


def test_a_user_without_the_permission_is_refused_before_notify_is_asked():
    http, fake = signed_in_as(permissions=["view_dashboard"])

    response = http.post("/api/v1/notifications/recipients", json={"email": "x@example.com"}, headers=auth())

    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    assert notify_calls(fake) == []


def test_adding_a_recipient_answers_201_and_a_bad_type_is_422_naming_the_field():
    http, fake = signed_in_as({("notify", "add_recipient"): RECIPIENT}, role="administrator")

    created = http.post("/api/v1/notifications/recipients", headers=auth(),
                        json={"email": "ops@contoso.example", "types": ["summary_report"]})
    refused = http.post("/api/v1/notifications/recipients", headers=auth(),
                        json={"email": "ops@contoso.example", "types": ["weather_report"]})

    assert created.status_code == 201 and created.json()["id"] == RECIPIENT["id"]
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["fields"][0]["field"] == "types.0"
    assert len(notify_calls(fake)) == 1


def test_a_patch_sends_only_the_fields_given_and_delete_answers_204():
    http, fake = signed_in_as({("notify", "update_recipient"): RECIPIENT, ("notify", "remove_recipient"): None},
                              role="administrator")
    recipient_id = RECIPIENT["id"]

    patched = http.patch(f"/api/v1/notifications/recipients/{recipient_id}", json={"display_name": None},
                         headers=auth())
    removed = http.delete(f"/api/v1/notifications/recipients/{recipient_id}", headers=auth())

    assert patched.status_code == 200 and removed.status_code == 204
    update, remove = notify_calls(fake)
    assert update.call.args == (recipient_id, {"display_name": None})
    assert remove.call.args == (recipient_id,)


def test_settings_are_read_and_replaced():
    answer = {"frequency": "monthly", "csv_delivery": "link"}
    http, fake = signed_in_as({("notify", "get_notification_settings"): answer,
                               ("notify", "put_notification_settings"): answer}, role="administrator")

    assert http.get("/api/v1/notifications/settings", headers=auth()).json() == answer
    assert http.put("/api/v1/notifications/settings", json=answer, headers=auth()).json() == answer
    assert http.put("/api/v1/notifications/settings", json={"frequency": "hourly"}, headers=auth()).status_code == 422
    assert [c.call.args for c in notify_calls(fake)] == [(), (answer,)]


def test_a_report_link_is_served_without_a_session_as_a_csv_download():
    fake = FakeRpcClient({("notify", "get_report_csv"): {"filename": "summary.csv", "content": "Partner\r\nX\r\n"}})
    report_id, expires = uuid.uuid4(), int(time.time()) + 3600

    response = client(fake).get(f"/api/v1/notifications/reports/{report_id}.csv",
                                params={"expires": expires, "signature": "c2lnbmF0dXJl"})

    assert response.status_code == 200 and response.text == "Partner\r\nX\r\n"
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="summary.csv"'
    assert response.headers["cache-control"] == "no-store"
    [call] = fake.calls
    assert call.call.args == (str(report_id), expires, "c2lnbmF0dXJl")


def test_an_expired_report_link_is_410_without_asking_notify():
    fake = FakeRpcClient()

    response = client(fake).get(f"/api/v1/notifications/reports/{uuid.uuid4()}.csv",
                                params={"expires": int(time.time()) - 1, "signature": "c2ln"})

    assert response.status_code == 410 and response.json()["error"]["code"] == "link_expired"
    assert fake.calls == []


def test_a_report_link_with_a_wrong_signature_is_403():
    fake = FakeRpcClient({("notify", "get_report_csv"): PermissionDenied("this link is not valid")})

    response = client(fake).get(f"/api/v1/notifications/reports/{uuid.uuid4()}.csv",
                                params={"expires": int(time.time()) + 60, "signature": "forged"})

    assert response.status_code == 403


def radar_view() -> dict:
    return BackupRadarView(distributor_id=uuid.uuid4(), enabled=True, status="active").to_wire()


def test_an_operator_reads_and_switches_a_distributors_integration():
    distributor = uuid.uuid4()
    http, fake = signed_in_as({("notify", "get_backup_radar"): radar_view(),
                               ("notify", "update_backup_radar"): radar_view()}, role="administrator")
    fake.answers[("identity", "check_session")]["user"]["tenant_kind"] = "operator"

    read = http.get(f"/api/v1/integrations/backup-radar?distributor_id={distributor}", headers=auth())
    put = http.put("/api/v1/integrations/backup-radar", json={"enabled": True, "distributor_id": str(distributor)},
                   headers=auth())

    assert read.status_code == 200 and put.status_code == 200
    get_call, put_call = notify_calls(fake)
    assert get_call.call.args == (str(distributor),)
    assert put_call.call.args == ({"enabled": True, "distributor_id": str(distributor)},)


def test_a_partner_user_is_refused_the_distributors_integration():
    http, fake = signed_in_as(role="administrator")
    fake.answers[("identity", "check_session")]["user"]["tenant_kind"] = "partner"

    assert http.get("/api/v1/integrations/backup-radar", headers=auth()).status_code == 403
    assert notify_calls(fake) == []


def test_the_delivery_log_pages_and_a_replay_answers_202():
    delivery = {"id": str(uuid.uuid4()), "webhook_id": "msg_1", "event_type": "backup.result", "status": "pending",
                "attempts": 0, "created_at": T0.isoformat()}
    page = DeliveryPage(items=[], page=1, page_size=25, total=0).to_wire()
    http, fake = signed_in_as({("notify", "list_webhook_deliveries"): page,
                               ("notify", "replay_webhook_delivery"): delivery}, role="administrator")

    listed = http.get("/api/v1/integrations/backup-radar/deliveries?status=failed", headers=auth())
    replayed = http.post(f"/api/v1/integrations/backup-radar/deliveries/{delivery['id']}/replay", headers=auth())

    assert listed.status_code == 200 and replayed.status_code == 202
    list_call, replay_call = notify_calls(fake)
    assert list_call.call.args == ({"distributor_id": None, "status": "failed", "page": 1, "page_size": 25},)
    assert replay_call.call.args == (delivery["id"], None)
