"""``chudong demo``: a synthetic province run through the whole proactive cycle, then served."""

from chudong.demo.run import run_demo

__all__ = ["run_demo"]
