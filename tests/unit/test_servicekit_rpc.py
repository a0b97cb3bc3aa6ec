import nameko.rpc

from servicekit.rpc import PATIENT_RETRY_POLICY, PatientPublisher


def test_rpc_replies_are_retried_for_minutes_while_the_broker_is_away():
    assert nameko.rpc.Responder.publisher_cls is PatientPublisher
    policy = PatientPublisher.retry_policy
    assert policy == PATIENT_RETRY_POLICY
    # nameko's default gives up after 3 tries; ours keeps going for minutes.
    assert policy["max_retries"] * policy["interval_max"] >= 300
