"""Polling helper shared by the integration tests that watch a background process."""
import time


def wait_for(what: str, predicate, timeout: float, every: float):
    """The first truthy value of `predicate()`, polled every `every` s; AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
