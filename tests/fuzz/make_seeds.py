#!/usr/bin/env python3
"""Writes the fuzzer's seed corpus: one hand-written input per ordering-sensitive
AC item of docs/spec.md (AC-12..15, 19..21, 26..30, 34..38). The inputs encode
operations as join_map_fuzz.cpp decodes them; rerun this after changing either.
Not part of the build: the generated files are committed."""
import os

SPAWN, ABORT, MATCH, ABORT_ALL, DETACH, OPEN, STEP, QUIESCE, TRY, JOIN, CANCEL, CONTAINS, MOVE, RECREATE, RESPAWN, OPEN_ALL = range(16)
# The extended alphabet (first byte 2 or 3).
KEY_JOIN, CANCEL_KEY, DETACH_KEY, JOIN_WAIT, QUERIES, TRY2, REQUEST, REQUEST_MANY = range(16, 24)
LIMIT, TRY_SPAWN, DUE_SPAWN, LATE_SPAWN, ASYNC_SPAWN, CANCEL_SPAWN, QUEUED, QUIESCE2 = range(24, 32)
VALUE, THROW, NEVER = range(3)


def spawn(key, steps=0, yields=0, end=VALUE, value=7):
    return [SPAWN, key, steps | (yields << 3), end, value]


def task(key, steps=0, yields=0, end=VALUE, value=7):
    """The key and script bytes of TRY_SPAWN, DUE_SPAWN, LATE_SPAWN, ASYNC_SPAWN."""
    return [key, steps | (yields << 3), end, value]


def respawn(index, steps=0, yields=0, end=VALUE, value=9):
    return [RESPAWN, index, steps | (yields << 3), end, value]


seeds = {
    "ac12_replace_pending": spawn(1, 1) + spawn(1, 0, value=2) + [QUIESCE, TRY, TRY],
    "ac13_replace_wakes_no_phantom": spawn(1) + [QUIESCE, JOIN] + spawn(1, 1, value=3) + [QUIESCE, OPEN_ALL, QUIESCE],
    "ac14_try_skips_replaced_finished": spawn(2) + [QUIESCE] + spawn(2, 1, value=4) + [TRY, OPEN_ALL, QUIESCE, TRY, TRY],
    "ac15_replace_chain": spawn(3, 1) + respawn(0, 1) + respawn(0, 0) + respawn(0, 2, 1) + [STEP, 3, OPEN_ALL, QUIESCE, TRY, TRY],
    "ac19_abort_all": spawn(1, 1) + spawn(2, 1) + spawn(3, 0) + [STEP, 2, ABORT_ALL, CONTAINS, 1, QUIESCE, TRY, TRY, TRY, TRY],
    "ac20_abort_finished_keeps_value": spawn(5, 0, value=55) + [QUIESCE, ABORT, 5, TRY],
    "ac21_abort_races_completion": spawn(6, 1, 1) + [STEP, 1, ABORT, 6, STEP, 1, TRY, QUIESCE, TRY],
    "ac21_abort_after_yield": spawn(6, 1, 1) + [STEP, 2, ABORT, 6, QUIESCE, TRY],
    "ac26_destroy_aborts": spawn(1, 2) + spawn(2, 1, 0, NEVER) + [STEP, 2, JOIN, RECREATE, QUIESCE] + spawn(1) + [QUIESCE, TRY],
    "ac28_destroy_before_run": spawn(1) + spawn(2, 3) + [RECREATE, QUIESCE, TRY],
    "ac29_detach_with_pending_join": spawn(1, 1) + spawn(2, 0, 0, NEVER) + [JOIN, STEP, 1, DETACH, QUIESCE, OPEN_ALL, QUIESCE, TRY],
    "ac30_executor_gone": spawn(1, 1) + spawn(2, 0, 0, NEVER) + spawn(3) + [STEP, 3, JOIN],
    "ac31_throwing_task": spawn(4, 1, 1, THROW) + [QUIESCE, TRY],
    "ac34_try_nothing_ready": spawn(1, 1) + [TRY, QUIESCE, TRY, OPEN, 0, QUIESCE, TRY, TRY],
    "ac35_try_advances": spawn(1) + spawn(2) + spawn(3) + spawn(4) + [QUIESCE, TRY, TRY, TRY, TRY, TRY],
    "ac36_37_try_with_pending_join": spawn(1) + spawn(2, 1) + [JOIN, STEP, 1, TRY, QUIESCE, OPEN_ALL, STEP, 2, TRY, QUIESCE],
    "ac38_cancel_join": spawn(1, 1) + [JOIN, STEP, 1, CANCEL, 0, QUIESCE, OPEN_ALL, QUIESCE, TRY],
    "ac38_cancel_woken_join": spawn(1) + [QUIESCE, JOIN, CANCEL, 2, QUIESCE, TRY],
    "ac39_second_waiter": spawn(1, 1) + [JOIN, JOIN, OPEN_ALL, QUIESCE],
    "move_with_pending_join": spawn(1, 1) + [JOIN, MOVE, OPEN_ALL, QUIESCE, TRY],
    "abort_matching_mixed": spawn(1, 1) + spawn(2, 1) + spawn(3, 0) + spawn(4, 1, 0, NEVER) + [STEP, 4, MATCH, 0, 1, QUIESCE, TRY, TRY, TRY, TRY, ABORT_ALL, QUIESCE, TRY],
}

# Seeds of the extended alphabet: joins by key, detach by key, joins that wait
# while empty, ready_count / is_finished / get_abort_handle, and destroying
# the map with all of them in flight.
extended = {
    "key_join_pending": spawn(1, 1) + [KEY_JOIN, 1, STEP, 2, QUERIES, 1, OPEN_ALL, QUIESCE, QUERIES, 1],
    "key_join_finished": spawn(1) + [QUIESCE, QUERIES, 1, KEY_JOIN, 1, TRY, QUERIES, 1, QUIESCE, QUERIES, 1],
    "key_join_missing": spawn(2) + [KEY_JOIN, 5, QUIESCE, TRY],
    "key_join_twice": spawn(1, 1) + [KEY_JOIN, 1, KEY_JOIN, 1, OPEN_ALL, QUIESCE],
    "key_join_replaced": spawn(1, 1) + [KEY_JOIN, 1] + spawn(1) + [QUIESCE, TRY],
    "key_join_detached": spawn(1, 1) + [KEY_JOIN, 1, DETACH_KEY, 1, QUIESCE, OPEN_ALL, QUIESCE, TRY],
    "key_join_detach_all": spawn(1, 1) + spawn(2) + [KEY_JOIN, 1, DETACH, QUIESCE],
    "key_join_cancelled": spawn(1, 1) + [KEY_JOIN, 1, CANCEL_KEY, 0, 0, OPEN_ALL, QUIESCE, TRY],
    "key_join_cancel_woken": spawn(1) + [QUIESCE, KEY_JOIN, 1, CANCEL_KEY, 0, 2, QUIESCE, TRY],
    "key_join_beside_next": spawn(1, 1) + spawn(2, 1) + [KEY_JOIN, 1, JOIN, OPEN, 0, QUIESCE, TRY, OPEN_ALL, QUIESCE],
    "key_join_empties_next": spawn(1, 1) + [JOIN, KEY_JOIN, 1, QUIESCE, OPEN_ALL, QUIESCE],
    # Graceful requests (partial, total) that tasks accepting only terminal
    # cancellation ignore; a terminal abort after them still cancels.
    "request_ignored_then_abort": spawn(1, 1) + spawn(2, 0, 0, NEVER) + [STEP, 2, REQUEST, 1, 0, REQUEST, 2, 1, QUIESCE, QUERIES, 1, ABORT, 2, OPEN_ALL, QUIESCE, TRY, TRY],
    "request_before_start": spawn(1, 1) + [REQUEST, 1, 1, QUIESCE, OPEN_ALL, QUIESCE, TRY],
    "request_many_then_abort_all": spawn(1, 1) + spawn(2, 1) + spawn(3, 0, 0, NEVER) + [STEP, 3, REQUEST_MANY, 0, 0, REQUEST_MANY, 1, 2, QUIESCE, ABORT_ALL, QUIESCE, TRY, TRY, TRY],
    "request_after_abort": spawn(1, 0, 0, NEVER) + [STEP, 1, ABORT, 1, REQUEST, 1, 0, QUIESCE, TRY],
    "key_join_abort": spawn(1, 1, 0, NEVER) + [STEP, 1, KEY_JOIN, 1, ABORT, 1, QUIESCE],
    "wait_if_empty_empty": [JOIN_WAIT, QUIESCE] + spawn(1) + [QUIESCE, TRY],
    "wait_if_empty_detach_all": spawn(1, 1) + [JOIN_WAIT, DETACH, QUIESCE] + spawn(2) + [QUIESCE],
    "wait_if_empty_cancel": [JOIN_WAIT, CANCEL, 1, QUIESCE, JOIN, QUIESCE],
    "wait_if_empty_second": [JOIN_WAIT, JOIN_WAIT, JOIN, QUIESCE] + spawn(3) + [QUIESCE],
    "destroy_with_joins": spawn(1, 0, 0, NEVER) + spawn(2, 1) + [KEY_JOIN, 1, JOIN_WAIT, STEP, 2, RECREATE, QUIESCE] + spawn(1) + [QUIESCE, TRY],
    "destroy_aborts_never": spawn(1, 0, 0, NEVER) + spawn(2, 2) + spawn(3, 1, 1, NEVER) + [STEP, 3, RECREATE, QUIESCE],
    # Scheduling: the concurrency limit's queue, try_spawn, async_spawn,
    # deadlines already due or far away, destroying the map with all queued.
    "limit_queue_order": [LIMIT, 1] + spawn(1, 1) + spawn(2) + spawn(3, 1) + [QUEUED, QUIESCE, QUEUED, OPEN_ALL, QUIESCE, TRY, TRY, TRY],
    "limit_abort_queued": [LIMIT, 1] + spawn(1, 0, 0, NEVER) + spawn(2) + spawn(3) + [ABORT, 2, QUEUED, TRY, ABORT_ALL, QUIESCE, TRY, TRY],
    "limit_replace_queued": [LIMIT, 1] + spawn(1, 1) + spawn(2) + spawn(2, 0, value=5) + [QUEUED, OPEN_ALL, QUIESCE, TRY, TRY],
    "limit_detach_queued": [LIMIT, 2] + spawn(1, 0, 0, NEVER) + spawn(2, 1) + spawn(3) + [DETACH_KEY, 3, QUEUED, DETACH, QUIESCE],
    "limit_raise_and_lower": [LIMIT, 1] + spawn(1, 1) + spawn(2, 1) + spawn(3, 1) + [LIMIT, 3, QUEUED, LIMIT, 1] + spawn(4) + [QUEUED, OPEN_ALL, QUIESCE, TRY, TRY, TRY, TRY],
    "limit_with_keyed_join": [LIMIT, 1] + spawn(1, 1) + spawn(2) + [KEY_JOIN, 2, JOIN, OPEN_ALL, QUIESCE],
    "try_spawn_full": [LIMIT, 1] + spawn(1, 1) + [TRY_SPAWN] + task(2) + [OPEN_ALL, QUIESCE, TRY, TRY_SPAWN] + task(2) + [QUIESCE, TRY],
    "async_spawn_waits": [LIMIT, 1] + spawn(1, 1) + [ASYNC_SPAWN] + task(2) + [ASYNC_SPAWN] + task(3) + [QUIESCE, OPEN_ALL, QUIESCE, TRY, TRY, TRY],
    "async_spawn_cancel": [LIMIT, 1] + spawn(1, 1) + [ASYNC_SPAWN] + task(2) + [ASYNC_SPAWN] + task(3) + [CANCEL_SPAWN, 0, QUIESCE, OPEN_ALL, QUIESCE, TRY, TRY],
    "async_spawn_replaces": [LIMIT, 1] + spawn(1, 1) + [ASYNC_SPAWN] + task(1, value=3) + [OPEN_ALL, QUIESCE, TRY, TRY],
    "async_spawn_plain_spawn_races": [LIMIT, 1] + spawn(1, 1) + [ASYNC_SPAWN] + task(2) + [OPEN_ALL, STEP, 1] + spawn(3, 1) + [QUIESCE, OPEN_ALL, QUIESCE, TRY, TRY, TRY],
    "async_spawn_no_limit": [ASYNC_SPAWN] + task(1) + [CANCEL_SPAWN, 0, QUIESCE, TRY],
    "due_deadline": [DUE_SPAWN] + task(1, 1) + [DUE_SPAWN] + task(2, 0) + [JOIN, QUIESCE, TRY, TRY],
    "due_deadline_queued": [LIMIT, 1] + spawn(1, 0, 0, NEVER) + [DUE_SPAWN] + task(2) + [QUIESCE, QUEUED, TRY, ABORT, 1, QUIESCE, TRY],
    "late_deadline": [LATE_SPAWN] + task(1, 1) + [LATE_SPAWN] + task(2, 0, 0, NEVER) + [QUIESCE, OPEN_ALL, QUIESCE, TRY, ABORT, 2, QUIESCE, TRY],
    "deadline_abort_first": [DUE_SPAWN] + task(1, 0, 0, NEVER) + [ABORT, 1, QUIESCE, TRY],
    "destroy_with_queue": [LIMIT, 1] + spawn(1, 1) + spawn(2) + [ASYNC_SPAWN] + task(3) + [DUE_SPAWN] + task(4) + [RECREATE, QUIESCE] + spawn(1) + [QUIESCE, TRY],
    "io_death_with_queue": [LIMIT, 2] + spawn(1, 0, 0, NEVER) + spawn(2, 1) + spawn(3) + spawn(4, 1) + [LATE_SPAWN] + task(5) + [STEP, 2],
}

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
os.makedirs(here, exist_ok=True)
for name, ops in seeds.items():
    for variant, suffix in ((0, "u8"), (1, "str")):
        with open(os.path.join(here, f"{name}_{suffix}"), "wb") as f:
            f.write(bytes([variant] + ops))
for name, ops in extended.items():
    for variant, suffix in ((2, "u8"), (3, "str")):
        with open(os.path.join(here, f"{name}_{suffix}"), "wb") as f:
            f.write(bytes([variant] + ops))
print(f"wrote {2 * (len(seeds) + len(extended))} seeds to {here}")
