"""What is waiting in the broker, for the sweepers: a job still queued is not lost."""

from __future__ import annotations

import logging
from collections.abc import Iterable

logger = logging.getLogger(__name__)


def queued_jobs(queues: Iterable[str]) -> int | None:
    """How many messages wait in ``queues`` (not counting those a worker has taken); None when unreachable."""
    from kombu.exceptions import ChannelError, OperationalError

    from marketplace.celery import app

    total = 0
    try:
        with app.connection_for_read() as connection:
            channel = connection.default_channel
            for queue in queues:
                try:
                    total += channel.queue_declare(queue=queue, passive=True).message_count
                except ChannelError:
                    continue  # Redis keeps no key for an empty queue: "no such queue" means nothing waits
    except (OperationalError, OSError) as exc:
        logger.warning("broker unreachable while counting queued jobs: %s", exc)
        return None
    return total


def infrastructure_errors() -> tuple[type[BaseException], ...]:
    """Failures of the broker or the database rather than of the job: the sweepers retry what they stopped."""
    from django.db import InterfaceError, OperationalError
    from kombu.exceptions import OperationalError as BrokerError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return (BrokerError, RedisConnectionError, RedisTimeoutError, OperationalError, InterfaceError)
