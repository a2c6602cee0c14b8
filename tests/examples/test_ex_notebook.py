"""The tour notebook runs top to bottom in a real kernel, and a kernel
interrupt stops a cell blocked in ``ch.recv()`` without harming the kernel."""

from __future__ import annotations

import time
from pathlib import Path
from queue import Empty

import pytest
from ex_support import EXAMPLES

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
jupyter_client = pytest.importorskip("jupyter_client")

NOTEBOOK = EXAMPLES / "notebooks" / "tour.ipynb"


def _stream_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


@pytest.mark.timeout(240)
def test_every_cell_of_the_notebook_succeeds() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()  # raises CellExecutionError if any cell fails

    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    text = "\n".join(_stream_text(c) for c in code)
    assert "Hello from a goroutine!" in text
    assert "Received: result from ch2" in text
    assert "Timeout! No message received." in text
    assert "All workers done." in text
    assert "Error: non-200 status: 500 from http://127.0.0.1:" in text
    assert "At most 2 fetches ran at once (limit 2)." in text
    assert "Final Counter: 10 atomic: 10" in text
    assert text.count("Initializing...") == 1
    assert "Work cancelled: context deadline exceeded" in text
    assert "Main function exiting." in text
    # The asyncio cell: coroutines on the notebook's loop and a thread, one channel.
    assert "['coroutine 0 done', 'coroutine 1 done', 'coroutine 2 done', 'thread done']" in text
    assert "wait_async done" in text
    # The bulk deletion cells: every key gone; exactly the failed keys remain.
    assert "5,000 keys deleted" in text and "left: 0" in text
    assert "exactly the failed keys remain: True" in text
    assert "dead.example.com   not validated" in text
    # rich drew the live progress as a Jupyter widget.
    mimes = {k for c in code for o in c.get("outputs", []) for k in o.get("data", {})}
    assert "application/vnd.jupyter.widget-view+json" in mimes


def _wait_for_reply(kc, msg_id: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no reply to {msg_id}")
        try:
            msg = kc.get_shell_msg(timeout=remaining)
        except Empty:
            continue
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg["content"]


def _wait_for_busy(kc, msg_id: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=0.1)
        except Empty:
            continue
        if (
            msg["parent_header"].get("msg_id") == msg_id
            and msg["msg_type"] == "status"
            and msg["content"]["execution_state"] == "busy"
        ):
            return
    raise TimeoutError("the kernel never became busy")


@pytest.mark.timeout(90)
def test_interrupting_a_cell_blocked_in_recv(tmp_path: Path) -> None:
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(tmp_path))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        setup = kc.execute("from gocurrent import Chan, go\nch = Chan()")
        assert _wait_for_reply(kc, setup, 30)["status"] == "ok"

        blocked = kc.execute("ch.recv()")
        _wait_for_busy(kc, blocked, 30)
        time.sleep(0.5)  # well inside ch.recv() by now

        start = time.monotonic()
        km.interrupt_kernel()
        reply = _wait_for_reply(kc, blocked, 10)
        elapsed = time.monotonic() - start
        assert reply["status"] == "error"
        assert reply["ename"] == "KeyboardInterrupt"
        assert elapsed < 1.0, f"KeyboardInterrupt after {elapsed:.2f} s"

        # The kernel still works, and so does the channel the cell was blocked on.
        after = kc.execute("go(ch.send, 42)\nresult = (ch.recv(timeout=5), len(ch), 1 + 1)")
        assert _wait_for_reply(kc, after, 30)["status"] == "ok"
        check = kc.execute("", user_expressions={"r": "result"})
        content = _wait_for_reply(kc, check, 30)
        assert content["user_expressions"]["r"]["data"]["text/plain"] == "(42, 0, 2)"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
