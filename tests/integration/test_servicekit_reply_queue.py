"""A service's reply queue (where the answers to its own calls to other services arrive)
must not be durable.

nameko declares it as a durable classic queue, which lives on the node its service first
connected to. When that node of a cluster stops, the queue stays registered with a home
node that is down, and declaring it again answers 404 "home node … is down": the
service's consumer, which declares all its queues together, cannot start on any other
node, so the service consumes nothing (its RPC queue included) until that node is back
(``make cluster-test`` saw identity and tenancy stop for 21 s). A transient queue is
dropped with its node and declared again on the next.
"""

from __future__ import annotations

import amqp.exceptions
import pytest
from kombu import Connection, Queue

from servicekit.rpc_deadline import DeadlineRpcProxy
from services.tenancy.entrypoints import TenancyService

pytestmark = pytest.mark.integration


def reply_queue_of(runner) -> Queue:
    container = next(iter(runner.containers))
    proxy = next(dependency for dependency in container.dependencies if isinstance(dependency, DeadlineRpcProxy))
    return proxy.rpc_reply_listener.queue


def test_a_services_reply_queue_is_transient_so_a_cluster_drops_it_with_its_node(start_services, amqp_uri):
    queue = reply_queue_of(start_services(TenancyService))

    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        # The broker refuses a declaration that differs from the queue it has: asking for
        # a durable one fails only if the queue really is transient.
        with pytest.raises(amqp.exceptions.PreconditionFailed):
            channel.queue_declare(queue.name, durable=True, auto_delete=False,
                                  arguments=queue.queue_arguments)
