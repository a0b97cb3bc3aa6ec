import nameko.rpc

from servicekit.rpc import PATIENT_RETRY_POLICY, PatientPublisher


def test_rpc_replies_are_retried_for_minutes_while_the_broker_is_away():
    assert nameko.rpc.Responder.publisher_cls is PatientPublisher
    policy = PatientPublisher.retry_policy
    assert policy == PATIENT_RETRY_POLICY
    # nameko's default gives up after 3 tries; ours keeps going for minutes.
    assert policy["max_retries"] * policy["interval_max"] >= 300


def test_rpc_replies_are_published_without_waiting_for_the_brokers_confirm():
    # The caller waits for the reply itself; a confirm per reply only cost a round trip.
    assert nameko.rpc.Responder.publisher_cls.use_confirms is False


def test_identity_gives_up_on_notify_well_before_the_gateway_gives_up_on_identity(monkeypatch):
    # A request that sends mail (create user) must still be answered while notify is down,
    # not turned into a 503 for a change that was made.
    from gateway.settings import GatewaySettings
    from services.identity.settings import IdentitySettings

    for name in ("IDENTITY_NOTIFY_TIMEOUT_SECONDS", "GATEWAY_RPC_TIMEOUT_SECONDS"):
        monkeypatch.delenv(name, raising=False)

    assert IdentitySettings().notify_timeout_seconds * 2 < GatewaySettings().rpc_timeout_seconds
