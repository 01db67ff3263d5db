"""Direct reads of the Celery broker (Redis): how many jobs wait on each queue, for backpressure and sweepers."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import cache

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

# kombu's Redis transport keeps a queue as a list named after it, plus one list per priority step
# (``<queue>\x06\x16<step>``) when messages carry a priority; a queue's depth is the sum of them all.
KOMBU_PRIORITY_SEPARATOR = "\x06\x16"
KOMBU_PRIORITY_STEPS = (3, 6, 9)


@cache
def _client(url: str, timeout: float) -> redis.Redis:
    # No retries: a Redis that is down must answer "unreachable" at once (admission, sweepers, /metrics,
    # image-search slots), not after redis-py's seconds of reconnecting.
    return redis.Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
    )


def broker_client(*, timeout: float = 2.0) -> redis.Redis:
    """A pooled, fail-fast redis-py client on the broker's Redis (the same server and database as the cache)."""
    return _client(settings.REDIS_CLIENT_URL, timeout)


def queue_keys(queue: str) -> list[str]:
    return [queue, *(f"{queue}{KOMBU_PRIORITY_SEPARATOR}{step}" for step in KOMBU_PRIORITY_STEPS)]


def queue_depths(queues: Iterable[str]) -> dict[str, int]:
    """Messages waiting (not yet taken by a worker) on each queue, read in one round trip.

    Raises ``redis.RedisError`` when the broker cannot be reached.
    """
    names = list(queues)
    with broker_client().pipeline(transaction=False) as pipe:
        for name in names:
            for key in queue_keys(name):
                pipe.llen(key)
        lengths = pipe.execute()
    steps = len(KOMBU_PRIORITY_STEPS) + 1
    return {name: sum(lengths[i * steps : (i + 1) * steps]) for i, name in enumerate(names)}


def queued_jobs(queues: Iterable[str]) -> int | None:
    """How many messages wait in ``queues`` (not those a worker has taken); None when the broker is unreachable.

    For the sweepers: a job still queued is late, not lost.
    """
    try:
        return sum(queue_depths(queues).values())
    except (redis.RedisError, OSError) as exc:
        logger.warning("broker unreachable while counting queued jobs: %s", exc)
        return None


def infrastructure_errors() -> tuple[type[BaseException], ...]:
    """Failures of the broker or the database rather than of the job: the sweepers retry what they stopped."""
    from django.db import InterfaceError, OperationalError
    from kombu.exceptions import OperationalError as BrokerError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return (BrokerError, RedisConnectionError, RedisTimeoutError, OperationalError, InterfaceError)


# Counted leases (a semaphore shared by every process through Redis): drop expired leases, then take one if fewer
# than the limit are held. Expiry uses the Redis clock so hosts agree; a holder that dies frees its lease when it
# expires. Used by image search (deployment-wide cap) and webhooks (requests in flight per endpoint).
_LEASE_TAKE = """
if redis.replicate_commands then redis.replicate_commands() end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1)
return 1
"""


def lease_take(client: redis.Redis, *, key: str, limit: int, seconds: float, token: str) -> bool:
    """Take one of ``limit`` leases on ``key`` for ``seconds`` as ``token``; False when all are held.
    Raises ``redis.RedisError`` when Redis cannot answer (the caller decides whether to go on without the cap)."""
    return bool(client.eval(_LEASE_TAKE, 1, key, limit, seconds, token))


def lease_return(client: redis.Redis, *, key: str, token: str) -> None:
    """Give a lease back before it expires (raises ``redis.RedisError`` like ``lease_take``)."""
    client.zrem(key, token)
